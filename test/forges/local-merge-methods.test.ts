/**
 * The local forge merges with each of the methods a forge offers, for real on the stack's git server: a merge commit
 * with both parents, one squashed commit on the base, and the branch's commits replayed onto a moved base (rebase).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { LocalForge } from '../../src/forges/local';
import type { RepoRef } from '../../src/forges/types';
import { pushCommit, remoteCommit, remoteFile, remoteTip } from '../support/git-remote';
import { fixtureRepo } from '../support/stack';

const NOTES = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'].join('\n') + '\n';
const forge = new LocalForge(fs.mkdtempSync(path.join(os.tmpdir(), 'local-forge-methods-')));

/** A repository whose change branch has two commits (alpha, then beta capitalised) and whose base then moved (theta). */
async function movedChange(label: string): Promise<{ repo: RepoRef; number: number; heads: string[]; moved: string }> {
  const target = await fixtureRepo(`fixtures/methods-${label}-${randomUUID().slice(0, 8)}`, { 'NOTES.md': NOTES });
  const repo = { name: target.repo, url: target.url };
  const first = await pushCommit(repo.url, {
    onto: 'main',
    branch: 'regatta/notes',
    files: { 'NOTES.md': (t) => t.replace('alpha', 'ALPHA') },
    message: 'Capitalise alpha',
  });
  const second = await pushCommit(repo.url, {
    onto: 'regatta/notes',
    files: { 'NOTES.md': (t) => t.replace('beta', 'BETA') },
    message: 'Capitalise beta',
  });
  const moved = await pushCommit(repo.url, {
    onto: 'main',
    files: { 'NOTES.md': (t) => t.replace('theta', 'THETA') },
    message: 'a colleague capitalises theta',
  });
  const cr = await forge.findOrCreateChangeRequest({
    repo,
    branch: 'regatta/notes',
    base: 'main',
    title: 'Capitalise alpha and beta',
    body: 'b',
    autonomy: 'supervised_pr',
    labels: [],
    reviewers: [],
    headCommit: second,
  });
  return { repo, number: cr.number, heads: [first, second], moved };
}

const ALL_THREE = /^ALPHA\nBETA\ngamma[\s\S]*THETA\n$/;

it('merge: a merge commit whose parents are the moved base and the branch head', async () => {
  const { repo, number, heads, moved } = await movedChange('merge');
  const merged = await forge.mergeChangeRequest(repo, number, { method: 'merge' });
  expect(merged).toMatchObject({ state: 'merged', mergeCommit: expect.stringMatching(/^[0-9a-f]{40}$/) });
  expect(await remoteTip(repo.url, 'main')).toBe(merged.mergeCommit);
  expect((await remoteCommit(repo.url, 'main', merged.mergeCommit!)).parents).toEqual([moved, heads[1]]);
  expect(await remoteFile(repo.url, 'main', 'NOTES.md')).toMatch(ALL_THREE);
});

it('squash: one commit on the moved base carrying the whole branch', async () => {
  const { repo, number, moved } = await movedChange('squash');
  const merged = await forge.mergeChangeRequest(repo, number, { method: 'squash' });
  expect(await remoteTip(repo.url, 'main')).toBe(merged.mergeCommit);
  expect((await remoteCommit(repo.url, 'main', merged.mergeCommit!)).parents).toEqual([moved]);
  expect(await remoteFile(repo.url, 'main', 'NOTES.md')).toMatch(ALL_THREE);
});

it('rebase: each branch commit replayed onto the moved base, one parent each, messages kept, no merge commit', async () => {
  const { repo, number, heads, moved } = await movedChange('rebase');
  const merged = await forge.mergeChangeRequest(repo, number, { method: 'rebase' });
  expect(merged.state).toBe('merged');
  expect(await remoteTip(repo.url, 'main')).toBe(merged.mergeCommit);
  expect(heads).not.toContain(merged.mergeCommit);
  const last = await remoteCommit(repo.url, 'main', merged.mergeCommit!);
  expect(last.message).toBe('Capitalise beta\n');
  expect(last.parents).toHaveLength(1);
  const first = await remoteCommit(repo.url, 'main', last.parents[0]);
  expect(first).toEqual({ parents: [moved], message: 'Capitalise alpha\n' });
  expect(await remoteFile(repo.url, 'main', 'NOTES.md')).toMatch(ALL_THREE);
});

it('rebase onto a base that has not moved fast-forwards to the branch head', async () => {
  const target = await fixtureRepo(`fixtures/methods-ff-${randomUUID().slice(0, 8)}`, { 'NOTES.md': NOTES });
  const repo = { name: target.repo, url: target.url };
  const head = await pushCommit(repo.url, {
    onto: 'main',
    branch: 'regatta/notes',
    files: { 'NOTES.md': (t) => t.replace('alpha', 'ALPHA') },
    message: 'Capitalise alpha',
  });
  const cr = await forge.findOrCreateChangeRequest({
    repo,
    branch: 'regatta/notes',
    base: 'main',
    title: 'Capitalise alpha',
    body: 'b',
    autonomy: 'supervised_pr',
    labels: [],
    reviewers: [],
    headCommit: head,
  });
  const merged = await forge.mergeChangeRequest(repo, cr.number, { method: 'rebase' });
  expect(merged.mergeCommit).toBe(head);
  expect(await remoteTip(repo.url, 'main')).toBe(head);
});

it('rebase that conflicts is refused with a clear error, leaving the base and the change request as they were', async () => {
  const { repo, number, moved } = await movedChange('rebase-conflict');
  const conflicting = await pushCommit(repo.url, {
    onto: 'main',
    files: { 'NOTES.md': (t) => t.replace('alpha', 'Alpha') },
    message: 'a colleague edits the same line',
  });
  expect(conflicting).not.toBe(moved);
  await expect(forge.mergeChangeRequest(repo, number, { method: 'rebase' })).rejects.toThrow(
    /regatta\/notes does not merge cleanly into main \(conflicts in NOTES.md\)/,
  );
  expect(await remoteTip(repo.url, 'main')).toBe(conflicting);
  expect((await forge.findChangeRequest(repo, 'regatta/notes'))?.state).toBe('open');
});
