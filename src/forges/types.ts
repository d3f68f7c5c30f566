/** One interface for every forge: adding a provider is adding a folder beside local/ and github/. */
import type { Autonomy, ChangeRequest } from '../contracts';

export interface ChangeRequestDraft {
  repo: { name: string; url: string };
  branch: string;
  base: string;
  title: string;
  body: string;
  autonomy: Autonomy;
  labels: string[];
  reviewers: string[];
  headCommit: string;
}

export interface Forge {
  readonly provider: string;
  /** The host publishing is rate-limited by. */
  hostOf(repoUrl: string): string;
  /** The change request for this head branch, whatever its state, if one exists. */
  findChangeRequest(repo: { name: string; url: string }, branch: string): Promise<ChangeRequest | undefined>;
  /** Opens the change request for the draft's branch, or returns the existing one with its body brought up to date. */
  findOrCreateChangeRequest(draft: ChangeRequestDraft): Promise<ChangeRequest>;
  listChangeRequests(filter?: { repo?: string; state?: ChangeRequest['state'] }): Promise<ChangeRequest[]>;
  closeChangeRequest(repo: { name: string; url: string }, number: number): Promise<ChangeRequest>;
  /** Credentials for pushing the branch over HTTPS, where the forge needs them (never passed to a sandbox). */
  gitAuth?(): { username: string; password: string };
}
