/**
 * Finding the revert of a merged change: the base branch's recent history, read with isomorphic-git as metadata (no
 * checkout, nothing executed), searched for git's own revert message, `This reverts commit <sha>`.
 */
import fs from 'node:fs';
import git from 'isomorphic-git';
import { withScratchClone } from './scratch-clone';

/** Commits of the base read back from its tip; a revert older than this many commits is not looked for. */
const REVERT_SEARCH_DEPTH = 200;

export async function findRevertCommit(
  spec: { url: string; base: string; auth?: { username: string; password: string } },
  mergeCommit: string,
): Promise<{ commit: string; at: string } | undefined> {
  const clone = { url: spec.url, ref: spec.base, auth: spec.auth, depth: REVERT_SEARCH_DEPTH, noCheckout: true };
  return withScratchClone('revert', clone, async (dir) => {
    const says = new RegExp(`This reverts commit ${mergeCommit}\\b`);
    const log = await git.log({ fs, dir, ref: spec.base, depth: REVERT_SEARCH_DEPTH });
    const revert = log.find((entry) => says.test(entry.commit.message));
    return revert && { commit: revert.oid, at: new Date(revert.commit.committer.timestamp * 1000).toISOString() };
  });
}
