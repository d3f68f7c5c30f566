/**
 * Where a change branch stands against its base, from the remote's refs and the head commit's metadata (no checkout,
 * nothing executed): the tracker asks this on each poll to decide whether a change request needs rebasing, and whose
 * campaign pushed its head last.
 */
import fs from 'node:fs';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { onAuth, REGATTA_TRAILER } from './branch';
import { withScratchClone } from './scratch-clone';

export interface BranchState {
  baseTip: string;
  /** Undefined when the branch is gone from the remote. */
  head?: string;
  /** The head commit's first parent: the base it was made on. */
  headParent?: string;
  /** The campaign named in the head commit's `Regatta-Campaign:` trailer. */
  headCampaign?: string;
}

type Remote = { url: string; auth?: { username: string; password: string } };

export async function remoteTips(remote: Remote, branches: string[]): Promise<Record<string, string | undefined>> {
  const refs = await git.listServerRefs({ http, url: remote.url, prefix: 'refs/heads/', onAuth: onAuth(remote.auth) });
  return Object.fromEntries(branches.map((b) => [b, refs.find((r) => r.ref === `refs/heads/${b}`)?.oid]));
}

/** The base's tip and, when `known` is not already the head, the head commit's parent and campaign. */
export async function branchState(
  remote: Remote & { base: string; branch: string },
  known?: Pick<BranchState, 'head' | 'headParent' | 'headCampaign'>,
): Promise<BranchState> {
  const tips = await remoteTips(remote, [remote.base, remote.branch]);
  const baseTip = tips[remote.base];
  if (!baseTip) throw new Error(`the base branch ${remote.base} is gone from ${remote.url}`);
  const head = tips[remote.branch];
  if (!head) return { baseTip };
  if (known?.head === head) return { ...known, baseTip, head };
  const clone = { url: remote.url, ref: remote.branch, auth: remote.auth, depth: 1, noCheckout: true };
  return withScratchClone('branch-state', clone, async (dir) => {
    const { commit } = await git.readCommit({ fs, dir, oid: head });
    const trailer = new RegExp(`^${REGATTA_TRAILER} (\\S+)$`, 'm').exec(commit.message);
    return { baseTip, head, headParent: commit.parent[0], headCampaign: trailer?.[1] };
  });
}
