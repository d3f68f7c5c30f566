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
  /** Credentials for pushing the branch over HTTPS, where the forge needs them (never passed to a sandbox). */
  gitAuth?(): { username: string; password: string };
}
