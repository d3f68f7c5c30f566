/**
 * The `local` forge: branches live on the repository's own remote (pushed by the publishing activity) and
 * change requests are records the control plane keeps, one file per repository and branch, created atomically.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ChangeRequest } from '../../contracts';
import { mergeBranch, MergeConflictError } from '../../git/merge';
import { findRevertCommit } from '../../git/revert';
import { ForgeRequestError } from '../errors';
import { rebaseMergeBranch } from './rebase-merge';
import type { ChangeRequestDraft, Forge, MergeMethod, RepoRef } from '../types';

export interface StoredChangeRequest extends ChangeRequest {
  title: string;
  body: string;
  labels: string[];
  reviewers: string[];
  base: string;
  createdAt: string;
  updatedAt: string;
  /** The conversation: comments added through the forge (why it was closed, what supersedes it). */
  comments?: { body: string; at: string }[];
  /** Reviewers who approved it. */
  approvedBy?: string[];
}

export interface LocalForgeOptions {
  /** Who merge commits are by: the forge's merge button, not Regatta. */
  mergeAuthor?: { name: string; email: string };
}

const DEFAULT_MERGE_AUTHOR = { name: 'Local forge', email: 'forge@regatta.local' };

/** Where the records of change requests numbered in one repository claim their numbers. */
const NUMBERS_DIR = '.numbers';

export class LocalForge implements Forge {
  readonly provider = 'local';

  constructor(
    private readonly root: string,
    private readonly options: LocalForgeOptions = {},
  ) {}

  hostOf(repoUrl: string): string {
    return new URL(repoUrl).host;
  }

  async findChangeRequest(repo: RepoRef, branch: string): Promise<ChangeRequest | undefined> {
    const stored = this.read(this.recordFile(repo.name, branch));
    return stored && publicView(stored);
  }

  /** The whole record, body included: what a reviewer of a local change request reads. */
  async readChangeRequest(repo: RepoRef, branch: string): Promise<StoredChangeRequest | undefined> {
    return this.read(this.recordFile(repo.name, branch));
  }

  async findOrCreateChangeRequest(draft: ChangeRequestDraft): Promise<ChangeRequest> {
    const file = this.recordFile(draft.repo.name, draft.branch);
    const existing = this.read(file);
    if (existing) {
      // A re-run brings the body and head up to date; state is the reviewers' business. Checks were for the old head.
      const updated = {
        ...existing,
        title: draft.title,
        body: draft.body,
        headCommit: draft.headCommit,
        ...(existing.headCommit !== draft.headCommit ? { checks: undefined } : {}),
        updatedAt: new Date().toISOString(),
      };
      this.write(file, updated);
      return publicView(updated);
    }
    const now = new Date().toISOString();
    const record: StoredChangeRequest = {
      provider: this.provider,
      host: this.hostOf(draft.repo.url),
      repo: draft.repo.name,
      branch: draft.branch,
      number: this.claimNumber(draft.repo.name, draft.branch),
      url: `${draft.repo.url.replace(/\.git$/, '')}/changes/${encodeURIComponent(draft.branch)}`,
      state: 'open',
      draft: draft.autonomy === 'draft_only',
      headCommit: draft.headCommit,
      title: draft.title,
      body: draft.body,
      labels: draft.labels,
      reviewers: draft.reviewers,
      base: draft.base,
      createdAt: now,
      updatedAt: now,
    };
    // Written whole to a scratch file, then linked into place: link fails if another attempt got there first.
    const scratch = this.scratchFile(file);
    fs.writeFileSync(scratch, JSON.stringify(record, null, 2));
    try {
      fs.linkSync(scratch, file);
      return publicView(record);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return this.findOrCreateChangeRequest(draft);
      throw err;
    } finally {
      fs.rmSync(scratch, { force: true });
    }
  }

  async listChangeRequests(filter: { repo?: string; state?: ChangeRequest['state'] } = {}): Promise<ChangeRequest[]> {
    const records: ChangeRequest[] = [];
    for (const file of walk(filter.repo ? path.join(this.root, filter.repo) : this.root)) {
      const stored = this.read(file);
      if (!stored || (filter.repo && stored.repo !== filter.repo) || (filter.state && stored.state !== filter.state))
        continue;
      records.push(publicView(stored));
    }
    return records.sort((a, b) => a.repo.localeCompare(b.repo) || a.number - b.number);
  }

  async closeChangeRequest(repo: RepoRef, number: number): Promise<ChangeRequest> {
    return this.setState(repo.name, number, 'closed');
  }

  async reopenChangeRequest(repo: RepoRef, number: number): Promise<ChangeRequest> {
    return this.setState(repo.name, number, 'open');
  }

  /** What a reviewer merging it looks like, for the demo and tests of tracking. */
  async markMerged(repo: RepoRef, number: number): Promise<ChangeRequest> {
    return this.setState(repo.name, number, 'merged');
  }

  /** The checks a CI system would report on the head commit: local change requests have none unless a test sets them. */
  async setChecks(repo: RepoRef, number: number, checks: NonNullable<ChangeRequest['checks']>): Promise<ChangeRequest> {
    return this.update(repo.name, number, (stored) => ({ ...stored, checks }));
  }

  /**
   * Merges the branch into the base on the repository's remote (a fast-forward when the base has not moved, else a
   * merge commit, one squashed commit, or the branch's commits replayed onto the base for `rebase`; pushed), then
   * records it merged with the commit the base ends at. A conflicting merge is refused.
   */
  async mergeChangeRequest(repo: RepoRef, number: number, options: { method: MergeMethod }): Promise<ChangeRequest> {
    const stored = this.readByNumber(repo.name, number);
    if (stored.state === 'merged') return publicView(stored);
    if (stored.state === 'closed')
      throw new ForgeRequestError(
        `change request #${number} in ${repo.name} is closed; reopen it to merge`,
        422,
        false,
      );
    let merged: { mergeCommit: string };
    try {
      merged =
        options.method === 'rebase'
          ? await rebaseMergeBranch({
              url: repo.url,
              base: stored.base,
              branch: stored.branch,
              committer: this.options.mergeAuthor ?? DEFAULT_MERGE_AUTHOR,
            })
          : await mergeBranch({
              url: repo.url,
              base: stored.base,
              branch: stored.branch,
              method: options.method,
              message: `Merge change request #${number} from ${stored.branch}\n\n${stored.title}\n`,
              author: this.options.mergeAuthor ?? DEFAULT_MERGE_AUTHOR,
            });
    } catch (err) {
      if (err instanceof MergeConflictError) throw new ForgeRequestError(err.message, 409, false, 'invalid');
      throw err;
    }
    const now = new Date().toISOString();
    return this.update(repo.name, number, (s) => ({
      ...s,
      state: 'merged',
      mergedAt: now,
      mergeCommit: merged.mergeCommit,
    }));
  }

  async commentOnChangeRequest(repo: RepoRef, number: number, body: string): Promise<void> {
    const at = new Date().toISOString();
    this.update(repo.name, number, (stored) => ({ ...stored, comments: [...(stored.comments ?? []), { body, at }] }));
  }

  /** What a reviewer approving it looks like, for tests of automerge. */
  async approve(repo: RepoRef, number: number, by: string): Promise<ChangeRequest> {
    return this.update(repo.name, number, (stored) => ({
      ...stored,
      approvedBy: [...new Set([...(stored.approvedBy ?? []), by])],
    }));
  }

  async approvalCount(repo: RepoRef, number: number): Promise<number> {
    return this.readByNumber(repo.name, number).approvedBy?.length ?? 0;
  }

  async findRevert(repo: RepoRef, base: string, mergeCommit: string) {
    return findRevertCommit({ url: repo.url, base }, mergeCommit);
  }

  private readByNumber(repo: string, number: number): StoredChangeRequest {
    for (const file of walk(path.join(this.root, repo))) {
      const stored = this.read(file);
      if (stored?.repo === repo && stored.number === number) return stored;
    }
    throw new ForgeRequestError(`no change request #${number} in ${repo}`, 404, false);
  }

  private setState(repo: string, number: number, state: ChangeRequest['state']): ChangeRequest {
    return this.update(repo, number, (stored) => {
      if (stored.state === 'merged' && state !== 'merged')
        throw new ForgeRequestError(
          `change request #${number} in ${repo} is merged; it cannot be ${state === 'open' ? 'reopened' : state}`,
          422,
          false,
        );
      const now = new Date().toISOString();
      return {
        ...stored,
        state,
        ...(state === 'merged' && stored.state !== 'merged' ? { mergedAt: now } : {}),
        ...(state === 'closed' && stored.state !== 'closed' ? { closedAt: now } : {}),
        ...(state === 'open' ? { closedAt: undefined } : {}),
      };
    });
  }

  /** Rewrites change request `number` of `repo` with `change`, stamping `updatedAt`. */
  private update(
    repo: string,
    number: number,
    change: (stored: StoredChangeRequest) => StoredChangeRequest,
  ): ChangeRequest {
    for (const file of walk(path.join(this.root, repo))) {
      const stored = this.read(file);
      if (stored?.repo !== repo || stored.number !== number) continue;
      const updated = { ...change(stored), updatedAt: new Date().toISOString() };
      this.write(file, updated);
      return publicView(updated);
    }
    throw new ForgeRequestError(`no change request #${number} in ${repo}`, 404, false);
  }

  /**
   * Numbers are claimed in order by linking a complete claim file (the branch's name) into place, so a claim is never
   * seen half-written: a racer that finds a number taken reads whose it is and stops at its own branch's claim, so a
   * branch holds one number and none is skipped. A retry after a crash between claim and record finds its claim.
   */
  private claimNumber(repo: string, branch: string): number {
    const dir = path.join(this.root, repo, NUMBERS_DIR);
    fs.mkdirSync(dir, { recursive: true });
    const claims = fs
      .readdirSync(dir)
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
    const claimant = (number: number) => fs.readFileSync(path.join(dir, String(number)), 'utf8');
    const mine = claims.find((n) => claimant(n) === branch);
    if (mine !== undefined) return mine;
    const scratch = path.join(dir, `${randomUUID()}.tmp`);
    fs.writeFileSync(scratch, branch);
    try {
      for (let number = Math.max(0, ...claims) + 1; ; number++) {
        try {
          fs.linkSync(scratch, path.join(dir, String(number)));
          return number;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          if (claimant(number) === branch) return number;
        }
      }
    } finally {
      fs.rmSync(scratch, { force: true });
    }
  }

  private recordFile(repo: string, branch: string): string {
    return path.join(this.root, repo, `${encodeURIComponent(branch)}.json`);
  }

  private scratchFile(file: string): string {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    return `${file}.${randomUUID()}.tmp`;
  }

  private read(file: string): StoredChangeRequest | undefined {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as StoredChangeRequest;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Replaces a record atomically, so a crash never leaves half of one. */
  private write(file: string, record: StoredChangeRequest): void {
    const scratch = this.scratchFile(file);
    fs.writeFileSync(scratch, JSON.stringify(record, null, 2));
    fs.renameSync(scratch, file);
  }
}

function publicView(stored: StoredChangeRequest): ChangeRequest {
  const { provider, host, repo, branch, number, url, state, draft, headCommit, createdAt } = stored;
  const optional = {
    ...(stored.checks ? { checks: stored.checks } : {}),
    ...(stored.mergedAt ? { mergedAt: stored.mergedAt } : {}),
    ...(stored.closedAt ? { closedAt: stored.closedAt } : {}),
    ...(stored.mergeCommit ? { mergeCommit: stored.mergeCommit } : {}),
  };
  return { provider, host, repo, branch, number, url, state, draft, headCommit, createdAt, ...optional };
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === NUMBERS_DIR ? [] : walk(full);
    return entry.name.endsWith('.json') ? [full] : [];
  });
}
