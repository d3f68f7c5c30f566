/**
 * The local forge merges for real: on the stack's git server, a branch merges into its base by fast-forward or by a
 * merge commit, a conflicting merge is refused and leaves the base as it was, and a revert of the merge is found.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { LocalForge } from '../../src/forges/local';
import type { RepoRef } from '../../src/forges/types';
import { pushCommit, remoteCommit, remoteFile, remoteTip, revertMessage } from '../support/git-remote';
import { fixtureRepo } from '../support/stack';

const NOTES = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'].join('\n') + '\n';
const forge = new LocalForge(fs.mkdtempSync(path.join(os.tmpdir(), 'local-forge-merge-')));

/** A fresh repository with a change branch on it and its change request open. */
async function openChange(label: string): Promise<{ repo: RepoRef; number: number; head: string }> {
  const target = await fixtureRepo(`fixtures/merge-${label}-${randomUUID().slice(0, 8)}`, { 'NOTES.md': NOTES });
  const repo = { name: target.repo, url: target.url };
  const head = await pushCommit(target.url, {
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
  return { repo, number: cr.number, head };
}

it('merges by fast-forward when the base has not moved, and records the merge commit', async () => {
  const { repo, number, head } = await openChange('ff');
  const merged = await forge.mergeChangeRequest(repo, number, { method: 'merge' });
  expect(merged).toMatchObject({ state: 'merged', mergeCommit: head });
  expect(merged.mergedAt).toBeDefined();
  expect(await remoteTip(repo.url, 'main')).toBe(head);
});

it('merges with a merge commit when the base moved elsewhere, keeping both changes', async () => {
  const { repo, number, head } = await openChange('commit');
  const moved = await pushCommit(repo.url, {
    onto: 'main',
    files: { 'NOTES.md': (t) => t.replace('theta', 'THETA') },
    message: 'a colleague capitalises theta',
  });
  const merged = await forge.mergeChangeRequest(repo, number, { method: 'merge' });
  expect(await remoteTip(repo.url, 'main')).toBe(merged.mergeCommit);
  expect((await remoteCommit(repo.url, 'main', merged.mergeCommit!)).parents).toEqual([moved, head]);
  const notes = await remoteFile(repo.url, 'main', 'NOTES.md');
  expect(notes).toContain('ALPHA');
  expect(notes).toContain('THETA');
});

it('refuses a conflicting merge with a clear error, leaving the base and the change request as they were', async () => {
  const { repo, number } = await openChange('conflict');
  const moved = await pushCommit(repo.url, {
    onto: 'main',
    files: { 'NOTES.md': (t) => t.replace('alpha', 'Alpha') },
    message: 'a colleague edits the same line',
  });
  await expect(forge.mergeChangeRequest(repo, number, { method: 'merge' })).rejects.toThrow(
    /regatta\/notes does not merge cleanly into main \(conflicts in NOTES.md\)/,
  );
  expect(await remoteTip(repo.url, 'main')).toBe(moved);
  expect((await forge.findChangeRequest(repo, 'regatta/notes'))?.state).toBe('open');
});

it('finds the commit that reverts a merge, by git revert message, and nothing before it', async () => {
  const { repo, number } = await openChange('revert');
  const { mergeCommit } = await forge.mergeChangeRequest(repo, number, { method: 'merge' });
  expect(await forge.findRevert(repo, 'main', mergeCommit!)).toBeUndefined();
  const revert = await pushCommit(repo.url, {
    onto: 'main',
    files: { 'NOTES.md': NOTES },
    message: revertMessage('Capitalise alpha', mergeCommit!),
  });
  expect(await forge.findRevert(repo, 'main', mergeCommit!)).toEqual({ commit: revert, at: expect.any(String) });
});

it('keeps comments and approvals on the record', async () => {
  const { repo, number } = await openChange('comments');
  await forge.commentOnChangeRequest(repo, number, 'Superseded by somewhere');
  await forge.approve(repo, number, 'alice');
  await forge.approve(repo, number, 'alice');
  expect(await forge.approvalCount(repo, number)).toBe(1);
  expect((await forge.readChangeRequest(repo, 'regatta/notes'))?.comments).toEqual([
    { body: 'Superseded by somewhere', at: expect.any(String) },
  ]);
});
