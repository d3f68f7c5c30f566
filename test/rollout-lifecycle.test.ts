/**
 * Issue 16's "done means", end to end in one campaign: twelve fixture repositories on the local forge, rolled out in
 * waves (canary 3, early 25%, rest) with an automatic gate, and each change request kept alive until it merges, from
 * its publishing on: while the campaign holds at the canary gate its tracker automerges a canary whose checks went
 * green, and that merge (with one by hand) advances the gate. The early wave pauses on failing checks (then on a
 * reverted merge); once every wave is out, the tracker rebases a moved base once, executes a conflicting one again
 * (verified before the push), automerges on green checks, and a newer campaign supersedes one change request. The
 * figures of `campaign status --json`, the SDK and `regatta report --json` (by owner too, for the newer campaign without
 * a rollout) are then compared with what the forge itself says.
 * Real Temporal dev server, git server and artifact store; the execution plane is scripted (tests/support/notes-execution).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { artifactStoreFor } from '../src/artifacts';
import type { Burndown, CampaignProgress, ChangeOutcomes, ChangeReport } from '../src/client';
import type { Target } from '../src/contracts';
import { loadConfig } from '../src/config';
import { LocalForge } from '../src/forges/local';
import type { RepoRef } from '../src/forges/types';
import { reexecutionWorkflowId } from '../src/temporal/ids';
import { eventually } from './support/eventually';
import { pushCommit, remoteCommit, revertMessage } from './support/git-remote';
import type { RegattaHarness } from './support/harness';
import { regattaJson as cliJson, startLifecycleHarness } from './support/lifecycle-harness';
import { capitaliseAlphaExecution, NOTES } from './support/notes-execution';
import { fixtureRepo } from './support/stack';

const config = loadConfig();
const RUN_COST_USD = 0.05;
const forgeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-lifecycle-forge-'));
const forge = new LocalForge(forgeRoot);
const execution = capitaliseAlphaExecution(artifactStoreFor(config), { costUsd: RUN_COST_USD });
let lifecycle: Awaited<ReturnType<typeof startLifecycleHarness>>;
let harness: RegattaHarness;
const regattaJson = <T>(...args: string[]) => cliJson<T>(harness, ...args);

beforeAll(async () => {
  lifecycle = await startLifecycleHarness(forge, { executeRun: execution.executeRun });
  harness = lifecycle.harness;
});
afterAll(async () => {
  await lifecycle?.shutdown();
  fs.rmSync(forgeRoot, { recursive: true, force: true });
});

const ref = (t: Target): RepoRef => ({ name: t.repo, url: t.url });

/** What the forge itself says of a campaign's change requests, read without Regatta: counts and times to merge. */
async function forgeFigures(branch: string, targets: Target[]) {
  const all = (await forge.listChangeRequests()).filter((cr) => cr.branch === branch);
  const merged = all.filter((cr) => cr.state === 'merged');
  let reverted = 0;
  for (const cr of merged) {
    const target = targets.find((t) => t.repo === cr.repo)!;
    if (await forge.findRevert(ref(target), target.ref, cr.mergeCommit!)) reverted++;
  }
  const durations = merged.map((cr) => Date.parse(cr.mergedAt!) - Date.parse(cr.createdAt!)).sort((a, b) => a - b);
  return {
    opened: all.length,
    merged: merged.length,
    open: all.filter((cr) => cr.state === 'open').length,
    closedUnmerged: all.filter((cr) => cr.state === 'closed').length,
    reverted,
    durations,
  };
}

it('one campaign in waves keeps its change requests alive, and every figure it reports is the forge`s', async () => {
  // An owner of this test's own, so the report's row for it counts these campaigns only.
  const owner = `storefront-${harness.unique}`;
  const targets: Target[] = [];
  for (let i = 0; i < 12; i++)
    targets.push(
      await fixtureRepo(
        `fixtures/rollout-${harness.unique}-${i}`,
        { 'NOTES.md': NOTES },
        { owner, tier: 'production' },
      ),
    );
  const [c0, c1, c2] = [targets[9], targets[10], targets[11]];
  const canary = [c0, c1, c2];
  const id = `rollout-${harness.unique}`;
  const branch = `regatta/${id}`;
  lifecycle.campaigns.push(id);
  const startedAt = new Date();
  await harness.client.startCampaign({
    id,
    title: 'Capitalise alpha',
    targets,
    steps: [{ recipe: 'replace', files: ['NOTES.md'], find: 'alpha', replace: 'ALPHA' }],
    verify: { commands: ['npm test'] },
    maxConcurrentRuns: 12,
    publishRate: { max: 100, windowMs: 1_000 },
    publishRetryWindowMs: 60_000,
    rollout: {
      waves: [
        { name: 'canary', size: 3, select: { repos: canary.map((t) => t.repo) } },
        { name: 'early', size: '25%' },
        { name: 'rest' },
      ],
      // 1 of 3 failing (33%) is within the share, so the pause comes at the second, whatever the gate check's timing.
      gate: { minMerged: 2, maxChecksFailingShare: 0.4, maxReverted: 0 },
      gateCheckEveryMs: 300,
    },
    rebaseWhen: 'behind-base',
    automerge: true,
    revertWatchMs: 300_000,
    tracking: { pollMs: 400, forMs: 300_000 },
  });
  const progress = () => harness.client.campaignProgress(id);
  const wave = (p: CampaignProgress, name: string) => p.rollout!.waves.find((w) => w.name === name)!;
  const changeOf = async (t: Target) => (await forge.findChangeRequest(ref(t), branch))!;

  // The canary wave publishes alone and waits on its gate, its change requests already in its tracker's hands.
  const held = await eventually(progress, (p) => wave(p, 'canary').gateReasons !== undefined, 120_000);
  expect(held.rollout!.reason).toBe('wave canary: 0 of 3 merged, gate needs 2');
  expect((await forge.listChangeRequests()).map((cr) => cr.repo).sort()).toEqual(canary.map((t) => t.repo).sort());
  const holding = await eventually(
    () => harness.client.campaignBurndown(id),
    (b) => b.changes.length === 3 && b.changes.every((c) => c.automerge !== undefined),
    60_000,
  );
  expect(holding).toMatchObject({ open: 3, merged: 0, pending: 0 });
  expect(holding.changes.map((c) => c.automerge)).toEqual(Array(3).fill('waiting: checks none'));
  expect((await progress()).rollout!.status).toBe('gating');

  // One canary merged by hand, another's checks go green: the tracker automerges it while the campaign still holds at
  // the gate, and the two merges advance the gate by itself.
  await forge.mergeChangeRequest(ref(c0), (await changeOf(c0)).number, { method: 'merge' });
  await forge.setChecks(ref(c1), (await changeOf(c1)).number, 'passing');
  const automerged = await eventually(
    () => harness.client.campaignBurndown(id),
    (b) => b.changes.find((c) => c.repo === c1.repo)?.state === 'merged',
    60_000,
  );
  expect(automerged.changes.find((c) => c.repo === c1.repo)?.note).toMatch(/^merged by automerge/);
  expect(await changeOf(c1)).toMatchObject({ state: 'merged' });
  const advanced = await eventually(progress, (p) => wave(p, 'early').gateReasons !== undefined, 120_000);
  expect(wave(advanced, 'canary')).toMatchObject({ status: 'passed', decision: { action: 'advanced', by: 'gate' } });
  expect(wave(advanced, 'canary').figures).toMatchObject({ opened: 3, merged: 2, open: 1 });
  expect(advanced.admitted).toBe(6);

  // Failing checks on two of the early wave's three pause the rollout, naming the figure.
  const early = wave(advanced, 'early').changes.map((c) => targets.find((t) => t.repo === c.repo)!);
  expect(early).toHaveLength(3);
  const [e0, e1, e2] = early;
  for (const t of [e0, e1]) await forge.setChecks(ref(t), (await changeOf(t)).number, 'failing');
  const paused = await eventually(progress, (p) => p.rollout?.status === 'paused', 60_000);
  expect(paused.pausedReason).toContain('wave early: checks failing on 2 of 3 (66.7%), gate allows 40%');

  // A merge of the early wave reverted on its base counts against the gate's revert figure when it is measured again.
  const e2Merged = await forge.mergeChangeRequest(ref(e2), (await changeOf(e2)).number, { method: 'merge' });
  const revert = await pushCommit(e2.url, {
    onto: 'main',
    files: { 'NOTES.md': NOTES },
    message: revertMessage('Capitalise alpha', e2Merged.mergeCommit!),
  });
  await harness.client.resumeCampaign(id);
  const reverted = await eventually(
    progress,
    (p) => p.rollout?.status === 'paused' && wave(p, 'early').figures?.reverted === 1,
    60_000,
  );
  expect(reverted.pausedReason).toContain('wave early: 1 merge(s) reverted, gate allows 0');
  expect(reverted.admitted).toBe(6);

  // A person advances; the rest of the fleet is admitted and the campaign ends, handing its changes to its tracker.
  await harness.client.advanceWave(id, 'alice', 'known flake; the revert is understood');
  const result = await harness.client.campaignResult(id);
  expect(result.counts).toEqual({ published: 12 });
  const rest = targets.filter((t) => ![...canary, ...early].includes(t));
  expect(rest).toHaveLength(6);
  const [r0, r1, r2, r3] = rest;
  const burndown = (until: (b: Burndown) => boolean) =>
    eventually(() => harness.client.campaignBurndown(id), until, 120_000);
  await burndown((b) => b.checkedAt !== undefined && b.reverted === 1);

  // Within the campaign: r0's base moves (rebased once), r1's moves onto the line the change edits (executed again),
  // r2's checks go green (automerged), and a newer campaign supersedes r3's change request.
  const r0Before = await changeOf(r0);
  const r0Base = await pushCommit(r0.url, { onto: 'main', files: { 'OTHER.md': 'x\n' }, message: 'a colleague adds' });
  const r1Before = await changeOf(r1);
  const r1Base = await pushCommit(r1.url, {
    onto: 'main',
    files: { 'NOTES.md': (text) => text.replace('alpha', 'alpha, moved by a colleague') },
    message: 'a colleague edits the line the change edits',
  });
  await forge.setChecks(ref(r2), (await changeOf(r2)).number, 'passing');
  const newerId = `rollout-newer-${harness.unique}`;
  lifecycle.campaigns.push(newerId);
  await harness.client.startCampaign({
    id: newerId,
    title: 'Capitalise alpha, second take',
    targets: [r3],
    steps: [{ recipe: 'replace', files: ['NOTES.md'], find: 'alpha', replace: 'ALPHA' }],
    verify: { commands: ['npm test'] },
    tracking: { pollMs: 400, forMs: 300_000 },
    supersedes: [id],
  });

  const kept = await burndown((b) => b.rebased === 1 && b.reexecuted === 1 && b.merged === 4 && b.closed === 1);
  expect(kept).toMatchObject({ reverted: 1, done: 3 });
  expect(kept.changes.find((c) => c.repo === e2.repo)).toMatchObject({ state: 'merged', revertedBy: revert });
  const r0After = await changeOf(r0);
  expect(r0After.headCommit).not.toBe(r0Before.headCommit);
  expect((await remoteCommit(r0.url, branch, r0After.headCommit)).parents).toEqual([r0Base]);
  const r1Runs = execution.executions.filter((e) => e.repo === r1.repo);
  expect(r1Runs.map((e) => e.runId)).toEqual([`run/${id}/${r1.repo}`, reexecutionWorkflowId(id, r1.repo, 1)]);
  expect(r1Runs[1].baseCommit).toBe(r1Base);
  await eventually(
    () => harness.client.runStatus(r1Runs[1].runId),
    (run) => run.state === 'published',
    60_000,
  );
  const r1After = await changeOf(r1);
  expect(r1After.headCommit).not.toBe(r1Before.headCommit);
  expect((await remoteCommit(r1.url, branch, r1After.headCommit)).parents).toEqual([r1Base]);
  expect(await changeOf(r2)).toMatchObject({ state: 'merged' });
  const successor = (await forge.findChangeRequest(ref(r3), `regatta/${newerId}`))!;
  const superseded = (await forge.readChangeRequest(ref(r3), branch))!;
  expect(superseded.state).toBe('closed');
  expect(superseded.comments).toEqual([
    { body: expect.stringContaining(`Superseded by ${successor.url}`), at: expect.any(String) },
  ]);
  expect(execution.executions.filter((e) => e.repo === r0.repo)).toHaveLength(1);
  expect((await burndown((b) => b.checkedAt !== kept.checkedAt)).rebased).toBe(1);

  // The forge's own state, read independently: 4 of 12 merged (2 canary, the reverted one, the automerged one),
  // 1 closed unmerged, 1 reverted; time to merge from the forge's timestamps.
  const truth = await forgeFigures(branch, targets);
  expect(truth).toMatchObject({ opened: 12, merged: 4, open: 7, closedUnmerged: 1, reverted: 1 });
  const expected: Partial<ChangeOutcomes> = {
    opened: truth.opened,
    merged: truth.merged,
    open: truth.open,
    closedUnmerged: truth.closedUnmerged,
    reverted: truth.reverted,
    mergeRate: truth.merged / truth.opened,
    // Nearest rank over the four durations: the 2nd for the median, the 4th for the 95th percentile.
    timeToMergeMs: { median: truth.durations[1], p95: truth.durations[3] },
  };
  const sdk = await harness.client.campaignProgress(id);
  expect(sdk.outcomes).toMatchObject(expected);
  const cli = await regattaJson<{ progress: CampaignProgress }>('campaign', 'status', id, '--json');
  expect(cli.progress.outcomes).toMatchObject(expected);
  expect(cli.progress.rollout!.waves[1].decision).toMatchObject({ by: 'alice' });

  const report = await regattaJson<ChangeReport>('report', '--since', startedAt.toISOString(), '--json');
  expect(report.campaigns.find((c) => c.campaignId === id)?.outcomes).toMatchObject(expected);
  // The superseding campaign has no rollout: it is measured from its tracker's change requests all the same.
  const newer = await forgeFigures(`regatta/${newerId}`, targets);
  expect(newer).toMatchObject({ opened: 1, open: 1 });
  expect(report.campaigns.find((c) => c.campaignId === newerId)?.outcomes).toMatchObject({ opened: 1, open: 1 });
  // Other campaigns of the period may be in the report too: these two are measured, not listed as unmeasured.
  expect(report.unmeasured.map((u) => u.campaignId)).not.toContain(id);
  expect(report.unmeasured.map((u) => u.campaignId)).not.toContain(newerId);
  // By owner, both count: the rollout's 12 and the newer campaign's one, measured from its tracker's change requests.
  expect(report.byOwner.find((r) => r.key === owner)).toMatchObject({
    campaigns: 2,
    outcomes: { opened: truth.opened + newer.opened, merged: truth.merged, open: truth.open + newer.open },
  });
}, 600_000);
