/**
 * Change requests kept alive until they merge, on real components: campaigns on the Temporal dev server publish to
 * the local forge over the stack's git server, and their ChangeTrackerWorkflow rebases a moved base, executes a run
 * again where its patch no longer applies (verified before the push), merges when checks pass, closes what a newer
 * campaign supersedes, and records a revert. The execution plane is scripted: it edits NOTES.md as the base has it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createControlActivities } from '../activities/control';
import { createLifecycleActivities } from '../activities/control/change-lifecycle';
import { artifactStoreFor } from '../src/artifacts';
import type { Burndown, CampaignSpecInput } from '../src/contracts';
import { loadConfig } from '../src/config';
import { LocalForge } from '../src/forges/local';
import type { RepoRef } from '../src/forges/types';
import { changeTrackerWorkflowId, reexecutionWorkflowId } from '../src/temporal/ids';
import { controlDeps } from '../src/workers/control-deps';
import { eventually } from './support/eventually';
import { pushCommit, remoteCommit, remoteFile, remoteTip, revertMessage } from './support/git-remote';
import { startHarness, type RegattaHarness } from './support/harness';
import { regattaText } from './support/lifecycle-harness';
import { capitaliseAlphaExecution, NOTES } from './support/notes-execution';
import { fixtureRepo } from './support/stack';

const config = loadConfig();
const artifacts = artifactStoreFor(config);
const forge = new LocalForge(fs.mkdtempSync(path.join(os.tmpdir(), 'lifecycle-forge-')));
let harness: RegattaHarness;
const campaigns: string[] = [];

/** The scripted execution plane: what it did (one entry per execution), and repositories whose next one fails verification. */
const { executeRun, executions, failVerification } = capitaliseAlphaExecution(artifacts);

beforeAll(async () => {
  const deps = controlDeps(config);
  harness = await startHarness({
    controlActivities: createControlActivities({
      ...deps,
      publish: { ...deps.publish!, forge },
      client: () => harness?.client.temporal,
    }),
    executionActivities: { executeRun },
  });
});
afterAll(async () => {
  for (const id of campaigns)
    await harness?.client.temporal.workflow
      .getHandle(changeTrackerWorkflowId(id))
      .terminate('test over')
      .catch(() => undefined);
  await harness?.shutdown();
});

/** A fresh repository and a one-repository campaign over it that capitalises alpha, with `extra` in its spec. */
async function startCampaign(label: string, extra: Partial<CampaignSpecInput> = {}) {
  const target = await fixtureRepo(`fixtures/lifecycle-${label}-${harness.unique}`, { 'NOTES.md': NOTES });
  const id = `lifecycle-${label}-${harness.unique}`;
  campaigns.push(id);
  const changeKey = (extra.changeKey as string | undefined) ?? id;
  await harness.client.startCampaign({
    id,
    title: 'Capitalise alpha',
    targets: [target],
    steps: [{ recipe: 'replace', files: ['NOTES.md'], find: 'alpha', replace: 'ALPHA' }],
    verify: { commands: ['npm test'] },
    tracking: { pollMs: 400, forMs: 300_000 },
    publishRetryWindowMs: 60_000,
    ...extra,
  });
  const repo: RepoRef = { name: target.repo, url: target.url };
  return { id, repo, branch: `regatta/${changeKey}`, target };
}

async function burndown(campaignId: string, until: (b: Burndown) => boolean, timeoutMs = 60_000): Promise<Burndown> {
  return eventually(() => harness.client.campaignBurndown(campaignId), until, timeoutMs);
}

/** Waits for the tracker to poll `n` more times, so "nothing happened" is said after it had the chance. */
async function polls(campaignId: string, n: number): Promise<Burndown> {
  let seen = (await burndown(campaignId, (b) => b.checkedAt !== undefined)).checkedAt;
  let last!: Burndown;
  for (let i = 0; i < n; i++) {
    last = await burndown(campaignId, (b) => b.checkedAt !== seen);
    seen = last.checkedAt;
  }
  return last;
}

const opened = (b: Burndown) => b.checkedAt !== undefined && b.open === 1;

it('a moved base that the patch still applies to is rebased once: one new head on the new base, one rebase counted', async () => {
  // With automerge on and no checks: what automerge waits for is said apart, and the rebase stays the change's note.
  const { id, repo, branch } = await startCampaign('rebase', { rebaseWhen: 'behind-base', automerge: true });
  await burndown(id, opened);
  const published = (await forge.findChangeRequest(repo, branch))!;
  const moved = await pushCommit(repo.url, {
    onto: 'main',
    files: { 'OTHER.md': 'elsewhere\n' },
    message: 'a colleague adds a file',
  });

  await burndown(id, (b) => b.rebased === 1);
  const rebased = (await forge.findChangeRequest(repo, branch))!;
  expect(rebased.headCommit).not.toBe(published.headCommit);
  expect(await remoteTip(repo.url, branch)).toBe(rebased.headCommit);
  expect((await remoteCommit(repo.url, branch, rebased.headCommit)).parents).toEqual([moved]);

  const later = await polls(id, 3);
  expect(later).toMatchObject({ rebased: 1, reexecuted: 0, open: 1 });
  expect(later.changes[0]).toMatchObject({
    note: `rebased onto ${moved.slice(0, 12)}: head ${rebased.headCommit.slice(0, 12)}`,
    automerge: 'waiting: checks none',
  });
  // `campaign status` says both, on the change's line.
  const status = await regattaText(harness, 'campaign', 'status', id);
  expect(status).toMatch(/^CHANGE +STATE +CHECKS +NOTE +AUTOMERGE$/m);
  expect(status).toMatch(
    new RegExp(
      `^${repo.name} +open +rebased onto ${moved.slice(0, 12)}: head ${rebased.headCommit.slice(0, 12)} +waiting: checks none$`,
      'm',
    ),
  );
  expect((await forge.findChangeRequest(repo, branch))!.headCommit).toBe(rebased.headCommit);
  expect(executions.filter((e) => e.repo === repo.name)).toHaveLength(1);
});

it('a change request merged after the tracker saw its base move is neither rebased nor executed again', async () => {
  // The tracker polls once, then sleeps; the merge (which moves the base) lands before the rebase it would ask for.
  const { id, repo, branch } = await startCampaign('merged-race', { tracking: { pollMs: 600_000, forMs: 900_000 } });
  await burndown(id, opened);
  const published = (await forge.findChangeRequest(repo, branch))!;
  await forge.mergeChangeRequest(repo, published.number, { method: 'merge' });
  const activities = createLifecycleActivities({
    publish: { ...controlDeps(config).publish!, forge },
    client: () => harness.client.temporal,
  });
  for (const rebaseWhen of ['conflicted', 'behind-base'] as const)
    expect(await activities.rebaseChangeRequest({ runId: `run/${id}/${repo.name}`, rebaseWhen })).toEqual({
      outcome: 'merged',
    });
  expect(await remoteTip(repo.url, branch)).toBe(published.headCommit);
  expect(executions.filter((e) => e.repo === repo.name)).toHaveLength(1);
});

it('a moved base that conflicts with the patch executes the run again on it, verified, before the new patch is pushed', async () => {
  const { id, repo, branch } = await startCampaign('conflict');
  await burndown(id, opened);
  const published = (await forge.findChangeRequest(repo, branch))!;
  const moved = await pushCommit(repo.url, {
    onto: 'main',
    files: { 'NOTES.md': (t) => t.replace('alpha', 'alpha, moved by a colleague') },
    message: 'a colleague edits the line the change edits',
  });

  const after = await burndown(id, (b) => b.reexecuted === 1 && /published/.test(b.changes[0].note ?? ''));
  expect(after).toMatchObject({ rebased: 0, open: 1 });
  const runs = executions.filter((e) => e.repo === repo.name);
  expect(runs.map((e) => e.runId)).toEqual([`run/${id}/${repo.name}`, reexecutionWorkflowId(id, repo.name, 1)]);
  expect(runs[1].baseCommit).toBe(moved);
  expect((await harness.client.runStatus(runs[1].runId)).state).toBe('published');
  const head = (await forge.findChangeRequest(repo, branch))!.headCommit;
  expect(head).not.toBe(published.headCommit);
  expect((await remoteCommit(repo.url, branch, head)).parents).toEqual([moved]);
  expect(await remoteFile(repo.url, branch, 'NOTES.md')).toMatch(/^ALPHA, MOVED BY A COLLEAGUE$/m);
});

it('a re-execution whose verification fails pushes nothing: the change request keeps its head', async () => {
  const { id, repo, branch } = await startCampaign('unverified');
  await burndown(id, opened);
  const published = (await forge.findChangeRequest(repo, branch))!;
  failVerification.add(repo.name);
  await pushCommit(repo.url, {
    onto: 'main',
    files: { 'NOTES.md': (t) => t.replace('alpha', 'alpha again') },
    message: 'a colleague edits the line the change edits',
  });

  const after = await burndown(id, (b) => /re-execution on the moved base ended failed/.test(b.changes[0].note ?? ''));
  expect(after.reexecuted).toBe(1);
  expect(await remoteTip(repo.url, branch)).toBe(published.headCommit);
  expect((await forge.findChangeRequest(repo, branch))!.headCommit).toBe(published.headCommit);
});

it('automerge merges only once the forge`s checks pass, not while they are missing, pending or failing', async () => {
  const { id, repo, branch } = await startCampaign('automerge', { automerge: true });
  await burndown(id, opened);
  const cr = (await forge.findChangeRequest(repo, branch))!;
  for (const checks of [undefined, 'pending', 'failing'] as const) {
    if (checks) await forge.setChecks(repo, cr.number, checks);
    const waiting = await polls(id, 3);
    expect(waiting).toMatchObject({ open: 1, merged: 0 });
    expect(waiting.changes[0].automerge).toBe(`waiting: checks ${checks ?? 'none'}`);
  }
  const baseBefore = await remoteTip(repo.url, 'main');
  await forge.setChecks(repo, cr.number, 'passing');

  const merged = await burndown(id, (b) => b.merged === 1);
  expect(merged).toMatchObject({ done: 1, open: 0 });
  expect(merged.changes[0].note).toBe(`merged by automerge (${cr.headCommit.slice(0, 12)})`);
  expect(merged.changes[0].automerge).toBeUndefined();
  const record = (await forge.findChangeRequest(repo, branch))!;
  expect(record).toMatchObject({ state: 'merged', mergeCommit: cr.headCommit });
  expect(baseBefore).not.toBe(record.mergeCommit);
  expect(await remoteTip(repo.url, 'main')).toBe(record.mergeCommit);
});

it('a campaign that supersedes a change key closes that key`s change request with a comment linking its successor', async () => {
  const older = await startCampaign('older', { changeKey: `notes-v1-${harness.unique}` });
  await burndown(older.id, opened);
  const newerId = `lifecycle-newer-${harness.unique}`;
  campaigns.push(newerId);
  await harness.client.startCampaign({
    id: newerId,
    title: 'Capitalise alpha, second take',
    targets: [older.target],
    steps: [{ recipe: 'replace', files: ['NOTES.md'], find: 'alpha', replace: 'ALPHA' }],
    verify: { commands: ['npm test'] },
    tracking: { pollMs: 400, forMs: 300_000 },
    changeKey: `notes-v2-${harness.unique}`,
    supersedes: [`notes-v1-${harness.unique}`],
  });
  await burndown(newerId, opened);
  const successor = (await forge.findChangeRequest(older.repo, `regatta/notes-v2-${harness.unique}`))!;

  const closed = await eventually(
    () => forge.readChangeRequest(older.repo, older.branch),
    (cr) => cr?.state === 'closed',
    30_000,
  );
  expect(closed!.comments).toEqual([
    { body: expect.stringContaining(`Superseded by ${successor.url}`), at: expect.any(String) },
  ]);
  expect(successor.state).toBe('open');
});

it('a revert of a merged change`s merge commit is recorded on the change and counted as reverted, not done', async () => {
  const { id, repo, branch } = await startCampaign('revert', { revertWatchMs: 300_000 });
  await burndown(id, opened);
  const cr = (await forge.findChangeRequest(repo, branch))!;
  await pushCommit(repo.url, { onto: 'main', files: { 'OTHER.md': 'meanwhile\n' }, message: 'a colleague moves on' });
  const { mergeCommit } = await forge.mergeChangeRequest(repo, cr.number, { method: 'merge' });
  expect((await burndown(id, (b) => b.merged === 1)).reverted).toBe(0);

  const revert = await pushCommit(repo.url, {
    onto: 'main',
    files: { 'NOTES.md': NOTES },
    message: revertMessage('Capitalise alpha', mergeCommit!),
  });
  const after = await burndown(id, (b) => b.reverted === 1);
  expect(after).toMatchObject({ merged: 1, done: 0 });
  expect(after.changes[0]).toMatchObject({
    state: 'merged',
    mergeCommit,
    revertedBy: revert,
    revertedAt: expect.any(String),
  });
});
