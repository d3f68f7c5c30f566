/**
 * Pushing the `regatta/…` branch: the remote branch is brought to Regatta's commit, and never over a commit someone
 * else made on it.
 */
import fs from 'node:fs';
import git, { type CommitObject } from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { onAuth, REGATTA_TRAILER, type BranchSpec } from './branch';

/** Thrown when someone other than Regatta committed to the branch; pushing over their work would lose it. */
export class BranchModifiedError extends Error {
  constructor(branch: string, tip: string, by: string) {
    super(
      `${branch} has commit ${tip.slice(0, 12)} by ${by}, not made by Regatta; ` +
        'delete the branch or close the change request to publish again',
    );
    this.name = 'BranchModifiedError';
  }
}

/**
 * Brings the remote branch to `head`: nothing to do when it already has this commit, or one of Regatta's with the
 * same tree on the same base; a force-push when it holds Regatta's commit on an older base; refused when a person
 * committed to it. Returns the commit the branch ends at.
 */
export async function pushBranch(
  dir: string,
  base: string,
  head: string,
  spec: BranchSpec,
): Promise<{ head: string; pushed: boolean }> {
  const tip = await remoteTip(spec);
  if (tip === head) return { head, pushed: false };
  if (tip) {
    await git.fetch({
      fs,
      http,
      dir,
      url: spec.url,
      ref: spec.branch,
      singleBranch: true,
      depth: 1,
      tags: false,
      onAuth: onAuth(spec.auth),
    });
    const { commit: theirs } = await git.readCommit({ fs, dir, oid: tip });
    if (!madeByRegatta(theirs, spec.author))
      throw new BranchModifiedError(spec.branch, tip, `${theirs.committer.name} <${theirs.committer.email}>`);
    const { commit: ours } = await git.readCommit({ fs, dir, oid: head });
    if (theirs.tree === ours.tree && theirs.parent[0] === base) return { head: tip, pushed: false };
  }
  await git.push({
    fs,
    http,
    dir,
    url: spec.url,
    ref: spec.branch,
    remoteRef: `refs/heads/${spec.branch}`,
    force: true,
    onAuth: onAuth(spec.auth),
  });
  return { head, pushed: true };
}

async function remoteTip(spec: BranchSpec): Promise<string | undefined> {
  const ref = `refs/heads/${spec.branch}`;
  const refs = await git.listServerRefs({ http, url: spec.url, prefix: ref, onAuth: onAuth(spec.auth) });
  return refs.find((r) => r.ref === ref)?.oid;
}

function madeByRegatta(commit: CommitObject, author: { email: string }): boolean {
  return (
    commit.committer.email === author.email &&
    (commit.message.includes(`\n${REGATTA_TRAILER} `) || /\nRegatta campaign \S+, run /.test(commit.message))
  );
}
