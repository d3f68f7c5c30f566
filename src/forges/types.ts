/** One interface for every forge: adding a provider is adding a folder beside local/ and github/, and a line in index.ts. */
import type { Autonomy, ChangeRequest } from '../contracts';

export interface RepoRef {
  /** `owner/name`. */
  name: string;
  /** The git remote the branch is pushed to. */
  url: string;
}

export interface ChangeRequestDraft {
  repo: RepoRef;
  branch: string;
  base: string;
  title: string;
  body: string;
  autonomy: Autonomy;
  labels: string[];
  /** Users (`alice`) and teams (`acme/storefront`), as CODEOWNERS names them without the @. */
  reviewers: string[];
  headCommit: string;
}

/** How a change request is merged: GitHub's three methods; the local forge does `merge` and `squash`. */
export type MergeMethod = 'merge' | 'squash' | 'rebase';

export interface Forge {
  readonly provider: string;
  /** The host publishing is rate-limited by. */
  hostOf(repoUrl: string): string;
  /** The change request for this head branch, whatever its state, with its checks where the forge runs any. */
  findChangeRequest(repo: RepoRef, branch: string): Promise<ChangeRequest | undefined>;
  /** Opens the change request for the draft's branch, or returns the existing one with its body brought up to date. */
  findOrCreateChangeRequest(draft: ChangeRequestDraft): Promise<ChangeRequest>;
  listChangeRequests(filter?: { repo?: string; state?: ChangeRequest['state'] }): Promise<ChangeRequest[]>;
  closeChangeRequest(repo: RepoRef, number: number): Promise<ChangeRequest>;
  /** Only when someone asks: a change request closed unmerged is otherwise left closed. */
  reopenChangeRequest(repo: RepoRef, number: number): Promise<ChangeRequest>;
  /**
   * Merges the change request into its base through the forge (`merge`: a fast-forward where possible, else a merge
   * commit; `squash`: one commit). Refused (ForgeRequestError 409) when it does not merge cleanly.
   */
  mergeChangeRequest(repo: RepoRef, number: number, options: { method: MergeMethod }): Promise<ChangeRequest>;
  /** Adds a comment to the change request's conversation (why it was closed, what supersedes it). */
  commentOnChangeRequest(repo: RepoRef, number: number, body: string): Promise<void>;
  /** How many reviewers approved the change request's current state. */
  approvalCount(repo: RepoRef, number: number): Promise<number>;
  /** The commit on `base` whose message says `This reverts commit <mergeCommit>` (git's revert), read as metadata only. */
  findRevert(repo: RepoRef, base: string, mergeCommit: string): Promise<{ commit: string; at: string } | undefined>;
  /** Credentials for pushing the branch over HTTPS, where the forge needs them (never passed to a sandbox). */
  gitAuth?(): { username: string; password: string };
}
