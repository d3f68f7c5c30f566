/**
 * The `local` forge: branches live on the repository's own remote (pushed by the publishing activity) and
 * change requests are records the control plane keeps, one file per repository and branch, created atomically.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChangeRequest } from '../../contracts';
import type { ChangeRequestDraft, Forge } from '../types';

interface StoredChangeRequest extends ChangeRequest {
  title: string;
  body: string;
  labels: string[];
  reviewers: string[];
  base: string;
  createdAt: string;
  updatedAt: string;
}

export class LocalForge implements Forge {
  readonly provider = 'local';

  constructor(private readonly root: string) {}

  hostOf(repoUrl: string): string {
    return new URL(repoUrl).host;
  }

  async findChangeRequest(repo: { name: string; url: string }, branch: string): Promise<ChangeRequest | undefined> {
    const stored = this.read(this.recordFile(repo.name, branch));
    return stored && publicView(stored);
  }

  async findOrCreateChangeRequest(draft: ChangeRequestDraft): Promise<ChangeRequest> {
    const file = this.recordFile(draft.repo.name, draft.branch);
    const existing = this.read(file);
    if (existing) {
      // A re-run brings the body and head up to date; state is the reviewers' business.
      const updated = { ...existing, title: draft.title, body: draft.body, headCommit: draft.headCommit, updatedAt: new Date().toISOString() };
      this.write(file, updated);
      return publicView(updated);
    }
    const now = new Date().toISOString();
    const record: StoredChangeRequest = {
      provider: this.provider,
      host: this.hostOf(draft.repo.url),
      repo: draft.repo.name,
      branch: draft.branch,
      number: this.nextNumber(draft.repo.name),
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
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(record, null, 2), { flag: 'wx' });
      return publicView(record);
    } catch (err) {
      // Another attempt created it first: find-or-create means we return theirs.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return this.findOrCreateChangeRequest(draft);
      throw err;
    }
  }

  async listChangeRequests(filter: { repo?: string; state?: ChangeRequest['state'] } = {}): Promise<ChangeRequest[]> {
    if (!fs.existsSync(this.root)) return [];
    const records: ChangeRequest[] = [];
    for (const file of walk(this.root)) {
      const stored = this.read(file);
      if (!stored || (filter.repo && stored.repo !== filter.repo) || (filter.state && stored.state !== filter.state)) continue;
      records.push(publicView(stored));
    }
    return records.sort((a, b) => a.repo.localeCompare(b.repo) || a.number - b.number);
  }

  async closeChangeRequest(repo: { name: string; url: string }, number: number): Promise<ChangeRequest> {
    return this.setState(repo.name, number, 'closed');
  }

  /** What a reviewer merging it looks like, for the demo and tests of tracking. */
  async markMerged(repo: { name: string; url: string }, number: number): Promise<ChangeRequest> {
    return this.setState(repo.name, number, 'merged');
  }

  private setState(repo: string, number: number, state: ChangeRequest['state']): ChangeRequest {
    for (const file of walk(path.join(this.root, repo))) {
      const stored = this.read(file);
      if (stored?.number !== number) continue;
      const updated = { ...stored, state, updatedAt: new Date().toISOString() };
      this.write(file, updated);
      return publicView(updated);
    }
    throw new Error(`no change request #${number} in ${repo}`);
  }

  private nextNumber(repo: string): number {
    const numbers = walk(path.join(this.root, repo)).map((file) => this.read(file)?.number ?? 0);
    return Math.max(0, ...numbers) + 1;
  }

  private recordFile(repo: string, branch: string): string {
    return path.join(this.root, repo, `${encodeURIComponent(branch)}.json`);
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
    const scratch = `${file}.${process.pid}.tmp`;
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
    if (entry.isDirectory()) return walk(full);
    return entry.name.endsWith('.json') ? [full] : [];
  });
}
