/** The local forge's records on a real filesystem: find-or-create under concurrency, numbering, listing, closing. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ForgeRequestError } from '../../src/forges/errors';
import { forgeFor, localForgeRoot } from '../../src/forges';
import { LocalForge } from '../../src/forges/local';
import type { ChangeRequestDraft } from '../../src/forges/types';
import { eventually } from '../support/eventually';

let root: string;
let forge: LocalForge;
const repo = { name: 'acme/catalog', url: 'http://127.0.0.1:8480/acme/catalog.git' };

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'local-forge-'));
  forge = new LocalForge(root);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function draft(extra: Partial<ChangeRequestDraft> = {}): ChangeRequestDraft {
  return {
    repo,
    branch: 'regatta/logger-2x',
    base: 'main',
    title: 'Upgrade logger',
    body: 'evidence v1',
    autonomy: 'supervised_pr',
    labels: ['regatta'],
    reviewers: ['alice'],
    headCommit: 'a'.repeat(40),
    ...extra,
  };
}

describe('local forge', () => {
  it('twenty find-or-creates for one branch make one change request and leave no scratch files', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => forge.findOrCreateChangeRequest(draft({ body: `evidence ${i}` }))),
    );
    expect(new Set(results.map((r) => r.number))).toEqual(new Set([1]));
    expect(await forge.listChangeRequests({ repo: repo.name })).toHaveLength(1);
    expect(fs.readdirSync(path.join(root, repo.name)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('control workers in separate processes racing on one branch make one change request', async () => {
    const numbers = await raceInSeparateProcesses(Array(6).fill('regatta/logger-2x'));
    expect(numbers).toEqual(Array(6).fill(1));
    expect(await forge.listChangeRequests()).toHaveLength(1);
    expect(fs.readdirSync(path.join(root, repo.name, '.numbers'))).toEqual(['1']);
  }, 60_000);

  it('control workers in separate processes racing on different branches get gap-free numbers', async () => {
    const branches = ['a', 'a', 'b', 'b', 'c', 'c'].map((b) => `regatta/${b}`);
    const numbers = await raceInSeparateProcesses(branches);
    expect([numbers[0], numbers[2], numbers[4]].sort((x, y) => x - y)).toEqual([1, 2, 3]);
    expect([numbers[1], numbers[3], numbers[5]]).toEqual([numbers[0], numbers[2], numbers[4]]);
    expect((await forge.listChangeRequests()).map((r) => r.number)).toEqual([1, 2, 3]);
  }, 60_000);

  it('concurrent change requests on different branches of one repository get distinct numbers', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => forge.findOrCreateChangeRequest(draft({ branch: `regatta/change-${i}` }))),
    );
    expect(results.map((r) => r.number).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('a re-run updates the body and head, not the number or state; draft_only makes a draft', async () => {
    const first = await forge.findOrCreateChangeRequest(draft({ autonomy: 'draft_only' }));
    const again = await forge.findOrCreateChangeRequest(draft({ body: 'evidence v2', headCommit: 'b'.repeat(40) }));
    expect(again).toMatchObject({
      number: first.number,
      state: 'open',
      draft: true,
      headCommit: 'b'.repeat(40),
      provider: 'local',
      host: '127.0.0.1:8480',
    });
    expect((await forge.readChangeRequest(repo, first.branch))?.body).toBe('evidence v2');
  });

  it('lists by repository and state, closes and reopens; a merged one cannot be reopened', async () => {
    const a = await forge.findOrCreateChangeRequest(draft({ branch: 'regatta/a' }));
    const b = await forge.findOrCreateChangeRequest(draft({ branch: 'regatta/b' }));
    await forge.findOrCreateChangeRequest(
      draft({ repo: { name: 'acme/billing', url: 'http://127.0.0.1:8480/acme/billing.git' } }),
    );
    expect(await forge.closeChangeRequest(repo, a.number)).toMatchObject({ state: 'closed' });
    await forge.markMerged(repo, b.number);
    expect((await forge.listChangeRequests({ state: 'open' })).map((r) => r.repo)).toEqual(['acme/billing']);
    expect((await forge.listChangeRequests({ repo: repo.name })).map((r) => [r.branch, r.state])).toEqual([
      ['regatta/a', 'closed'],
      ['regatta/b', 'merged'],
    ]);
    expect(await forge.reopenChangeRequest(repo, a.number)).toMatchObject({ state: 'open' });
    await expect(forge.reopenChangeRequest(repo, b.number)).rejects.toThrow(
      /#2 in acme\/catalog is merged; it cannot be reopened/,
    );
    await expect(forge.closeChangeRequest(repo, 99)).rejects.toBeInstanceOf(ForgeRequestError);
  });

  it('the registry builds the configured provider', () => {
    expect(forgeFor({ home: root, forge: { kind: 'local' } }).provider).toBe('local');
    expect(
      forgeFor({ home: root, forge: { kind: 'github', apiUrl: 'https://ghe.acme.invalid/api/v3', token: 't' } }),
    ).toMatchObject({ provider: 'github' });
    expect(
      forgeFor({ home: root, forge: { kind: 'github', apiUrl: 'https://ghe.acme.invalid/api/v3', token: 't' } }).hostOf(
        '',
      ),
    ).toBe('ghe.acme.invalid');
    expect(localForgeRoot(root)).toBe(path.join(root, 'forge', 'local'));
  });
});

/** One process per branch, each loaded and waiting, then all released at once to find-or-create; returns their numbers. */
async function raceInSeparateProcesses(branches: string[]): Promise<number[]> {
  const script = `
    const { LocalForge } = require(${JSON.stringify(path.resolve(__dirname, '../../src/forges/local'))});
    const forge = new LocalForge(process.argv[1]);
    const draft = JSON.parse(process.argv[2]);
    console.log('ready');
    process.stdin.once('data', () => forge.findOrCreateChangeRequest(draft).then((cr) => { console.log(cr.number); process.exit(0); }));
  `;
  const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');
  const racers = branches.map((branch) =>
    spawn(tsx, ['-e', script, root, JSON.stringify(draft({ branch }))], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const lines = racers.map((racer) => {
    const seen: string[] = [];
    racer.stdout.on('data', (chunk: Buffer) => seen.push(...chunk.toString().split('\n').filter(Boolean)));
    return seen;
  });
  const exited = racers.map((racer) => new Promise((resolve) => racer.once('exit', resolve)));
  await eventually(async () => lines.every((seen) => seen.includes('ready')), Boolean, 45_000);
  racers.forEach((racer) => racer.stdin.write('go\n'));
  await Promise.all(exited);
  return lines.map((seen) => Number(seen.at(-1)));
}
