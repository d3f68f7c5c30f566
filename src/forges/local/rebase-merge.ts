/**
 * The local forge's "rebase and merge", as GitHub's button does it: each commit of the change branch since it left the
 * base is replayed, oldest first, onto the base's tip (a three-way merge of the commit into the tip, written as a
 * one-parent commit keeping its author and message), and the base is pushed to the last of them without force. A base
 * that has not moved is fast-forwarded. Real git objects through isomorphic-git; nothing from the repository runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import git, { Errors } from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { onAuth } from '../../git/branch';
import { MergeConflictError } from '../../git/merge';

/** The scratch branch commits are replayed on (local to the clone, never pushed). */
const REPLAY_REF = 'refs/heads/regatta-replay';

export interface RebaseMergeSpec {
  url: string;
  base: string;
  branch: string;
  /** Who replays the commits (the committer); each keeps its own author. */
  committer: { name: string; email: string };
  auth?: { username: string; password: string };
}

/** Replays `branch` onto `base` on the remote; returns the commit the base ends at and the commits replayed. */
export async function rebaseMergeBranch(
  spec: RebaseMergeSpec,
): Promise<{ mergeCommit: string; fastForward: boolean; replayed: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-rebase-merge-'));
  const cache = {};
  const auth = onAuth(spec.auth);
  try {
    await git.clone({
      fs,
      http,
      dir,
      url: spec.url,
      ref: spec.base,
      singleBranch: true,
      noTags: true,
      onAuth: auth,
      cache,
    });
    const fetched = await git.fetch({
      fs,
      http,
      dir,
      url: spec.url,
      ref: spec.branch,
      singleBranch: true,
      tags: false,
      onAuth: auth,
      cache,
    });
    const head = fetched.fetchHead;
    if (!head) throw new Error(`${spec.branch} is not on ${spec.url}; nothing to merge`);
    const baseTip = await git.resolveRef({ fs, dir, ref: spec.base });
    const [forkPoint] = await git.findMergeBase({ fs, dir, oids: [baseTip, head], cache });
    let tip = baseTip;
    const replayed: string[] = [];
    if (forkPoint === baseTip) tip = head;
    else {
      // The branch's own commits, first parent back to where it left the base, oldest first.
      const commits: string[] = [];
      for (let oid = head; oid !== forkPoint;) {
        const { commit } = await git.readCommit({ fs, dir, oid, cache });
        commits.unshift(oid);
        if (!commit.parent[0]) break;
        oid = commit.parent[0];
      }
      for (const oid of commits) {
        const { commit } = await git.readCommit({ fs, dir, oid, cache });
        const when = { timestamp: Math.floor(Date.now() / 1000), timezoneOffset: 0 };
        const signature = { ...spec.committer, ...when };
        // Cherry-picking: the merge must see the commit's own parent as the merge base, so the tip is merged as a
        // scratch commit that also descends from that parent (its tree is the tip's).
        const { commit: tipCommit } = await git.readCommit({ fs, dir, oid: tip, cache });
        const scratch = await git.writeCommit({
          fs,
          dir,
          commit: { ...tipCommit, parent: [tip, ...commit.parent.slice(0, 1)], message: 'replay\n' },
        });
        await git.writeRef({ fs, dir, ref: REPLAY_REF, value: scratch, force: true });
        let merged;
        try {
          merged = await git.merge({
            fs,
            dir,
            cache,
            ours: REPLAY_REF,
            theirs: oid,
            message: commit.message,
            author: signature,
            committer: signature,
            abortOnConflict: true,
          });
        } catch (err) {
          if (err instanceof Errors.MergeConflictError) throw new MergeConflictError(spec, err.data.filepaths);
          if (err instanceof Errors.MergeNotSupportedError) throw new MergeConflictError(spec, []);
          throw err;
        }
        const { commit: mergedCommit } = await git.readCommit({ fs, dir, oid: merged.oid!, cache });
        tip = await git.writeCommit({
          fs,
          dir,
          commit: {
            tree: mergedCommit.tree,
            parent: [tip],
            author: commit.author,
            committer: { ...spec.committer, ...when },
            message: commit.message,
          },
        });
        replayed.push(tip);
      }
    }
    await git.writeRef({ fs, dir, ref: `refs/heads/${spec.base}`, value: tip, force: true });
    await git.push({
      fs,
      http,
      dir,
      url: spec.url,
      ref: spec.base,
      remoteRef: `refs/heads/${spec.base}`,
      onAuth: auth,
      cache,
    });
    return { mergeCommit: tip, fastForward: forkPoint === baseTip, replayed };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
