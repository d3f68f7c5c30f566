/**
 * Merging a change branch into its base on the repository's remote, as a forge's merge button does: a fresh clone,
 * a fast-forward where the base has not moved, else a merge commit (or one squashed commit) made with isomorphic-git,
 * pushed without force. Used by the local forge; nothing from the repository is executed.
 */
import fs from 'node:fs';
import git, { Errors } from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { onAuth } from './branch';
import { withScratchClone } from './scratch-clone';

export interface MergeSpec {
  url: string;
  base: string;
  branch: string;
  method: 'merge' | 'squash';
  message: string;
  author: { name: string; email: string };
  auth?: { username: string; password: string };
}

/** The branch cannot be merged without a person resolving its conflicts. */
export class MergeConflictError extends Error {
  constructor(spec: Pick<MergeSpec, 'branch' | 'base'>, files: string[]) {
    super(
      `${spec.branch} does not merge cleanly into ${spec.base}` +
        (files.length ? ` (conflicts in ${files.join(', ')})` : '') +
        '; rebase or re-run the change first',
    );
    this.name = 'MergeConflictError';
  }
}

/** Merges `branch` into `base` on the remote and returns the commit the base ends at. */
export async function mergeBranch(spec: MergeSpec): Promise<{ mergeCommit: string; fastForward: boolean }> {
  const cache = {};
  const clone = { url: spec.url, ref: spec.base, auth: spec.auth, cache };
  return withScratchClone('merge', clone, async (dir) => {
    const fetched = await git.fetch({
      fs,
      http,
      dir,
      url: spec.url,
      ref: spec.branch,
      singleBranch: true,
      tags: false,
      onAuth: onAuth(spec.auth),
      cache,
    });
    const baseTip = await git.resolveRef({ fs, dir, ref: spec.base });
    const head = fetched.fetchHead;
    if (!head) throw new Error(`${spec.branch} is not on ${spec.url}; nothing to merge`);
    const when = { timestamp: Math.floor(Date.now() / 1000), timezoneOffset: 0 };
    const signature = { ...spec.author, ...when };
    let result;
    try {
      result = await git.merge({
        fs,
        dir,
        cache,
        ours: spec.base,
        theirs: head,
        message: spec.message,
        author: signature,
        committer: signature,
        abortOnConflict: true,
      });
    } catch (err) {
      if (err instanceof Errors.MergeConflictError) throw new MergeConflictError(spec, err.data.filepaths);
      if (err instanceof Errors.MergeNotSupportedError) throw new MergeConflictError(spec, []);
      throw err;
    }
    let mergeCommit = result.oid!;
    if (spec.method === 'squash' && !result.fastForward) {
      // One commit on the base with the merged tree: what a squash merge leaves behind.
      const { commit } = await git.readCommit({ fs, dir, oid: mergeCommit });
      mergeCommit = await git.writeCommit({ fs, dir, commit: { ...commit, parent: [baseTip] } });
      await git.writeRef({ fs, dir, ref: `refs/heads/${spec.base}`, value: mergeCommit, force: true });
    }
    await git.push({
      fs,
      http,
      dir,
      url: spec.url,
      ref: spec.base,
      remoteRef: `refs/heads/${spec.base}`,
      onAuth: onAuth(spec.auth),
      cache,
    });
    return { mergeCommit, fastForward: Boolean(result.fastForward) };
  });
}
