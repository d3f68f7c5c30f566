/**
 * The `local` forge: branches live on the repository's own remote (pushed by the publishing activity) and
 * change requests are records the control plane keeps, one file per repository and branch, created atomically.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ChangeRequest } from '../../contracts';
import { ForgeRequestError } from '../errors';
import type { ChangeRequestDraft, Forge, RepoRef } from '../types';

export interface StoredChangeRequest extends ChangeRequest {
  title: string;
  body: string;
  labels: string[];
  reviewers: string[];
  base: string;
  createdAt: string;
  updatedAt: string;
}

/** Where the records of change requests numbered in one repository claim their numbers. */
const NUMBERS_DIR = '.numbers';

export class LocalForge implements Forge {
  readonly provider = 'local';

  constructor(private readonly root: string) {}

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
      // A re-run brings the body and head up to date; state is the reviewers' business.
      const updated = {
        ...existing,
        title: draft.title,
        body: draft.body,
        headCommit: draft.headCommit,
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

  private setState(repo: string, number: number, state: ChangeRequest['state']): ChangeRequest {
    for (const file of walk(path.join(this.root, repo))) {
      const stored = this.read(file);
      if (stored?.repo !== repo || stored.number !== number) continue;
      if (stored.state === 'merged' && state !== 'merged')
        throw new ForgeRequestError(
          `change request #${number} in ${repo} is merged; it cannot be ${state === 'open' ? 'reopened' : state}`,
          422,
          false,
        );
      const updated = { ...stored, state, updatedAt: new Date().toISOString() };
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
  const { provider, host, repo, branch, number, url, state, draft, headCommit } = stored;
  return { provider, host, repo, branch, number, url, state, draft, headCommit };
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === NUMBERS_DIR ? [] : walk(full);
    return entry.name.endsWith('.json') ? [full] : [];
  });
}
