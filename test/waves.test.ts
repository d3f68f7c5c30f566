/**
 * A campaign rolled out in waves, on the real dev server, real git remotes and the local forge: the canary wave's gate
 * advances by itself once two of its change requests merge, the next wave pauses on failing checks naming the figure,
 * and a person advances it by hand with who and why recorded. Execution is scripted (a real patch artifact per run).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createControlActivities } from '../activities/control';
import { artifactStoreFor } from '../src/artifacts';
import { runArtifactKey } from '../src/artifacts/store';
import type { CampaignProgress, ChangeReport } from '../src/client';
import type { ExecutionSpec, Target } from '../src/contracts';
import { loadConfig } from '../src/config';
import { LocalForge } from '../src/forges/local';
import { fileDiff } from '../src/git/diff';
import { controlDeps } from '../src/workers/control-deps';
import { eventually } from './support/eventually';
import { startHarness, type RegattaHarness } from './support/harness';
import { regattaJson as cliJson } from './support/lifecycle-harness';
import { scriptedExecution } from './support/scripted-execution';
import { fixtureRepo } from './support/stack';

const config = loadConfig();
const README = '# fixture\n';
const RUN_COST_USD = 0.05;
const artifacts = artifactStoreFor(config);
const forgeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-waves-forge-'));
const forge = new LocalForge(forgeRoot);
let harness: RegattaHarness;

const regattaJson = <T>(...args: string[]) => cliJson<T>(harness, ...args);

function patchingExecution() {
  const scripted = scriptedExecution(() => ({ touchedFiles: ['README.md'], costUsd: RUN_COST_USD }));
  return {
    async executeRun(spec: ExecutionSpec) {
      const result = await scripted.activities.executeRun(spec);
      const patch = await artifacts.put(
        runArtifactKey(spec.runId, 1, 'patch.diff'),
        fileDiff('README.md', README, `${README}\nChanged by Regatta.\n`),
        'patch',
      );
      return { ...result, manifest: { ...result.manifest, artifacts: [patch] } };
    },
  };
}

beforeAll(async () => {
  const deps = controlDeps(config);
  harness = await startHarness({
    controlActivities: createControlActivities({ ...deps, publish: { ...deps.publish!, forge } }),
    executionActivities: patchingExecution(),
  });
});
afterAll(async () => {
  await harness?.shutdown();
  fs.rmSync(forgeRoot, { recursive: true, force: true });
});

it('waves: the gate advances on merges, pauses on failing checks naming the figure, and a person advances it', async () => {
  // An owner of this test's own, so the report's row for it counts this campaign only.
  const owner = `storefront-${harness.unique}`;
  const targets: Target[] = [];
  for (let i = 0; i < 12; i++)
    targets.push(
      await fixtureRepo(
        `fixtures/wave-${harness.unique}-${i}`,
        { 'README.md': README },
        {
          owner,
          tier: 'production',
        },
      ),
    );
  const canary = [targets[9], targets[10], targets[11]].map((t) => t.repo);
  const id = `waves-${harness.unique}`;
  const startedAt = new Date();
  await harness.client.startCampaign({
    id,
    title: 'Touch the README',
    targets,
    steps: [{ recipe: 'replace', files: ['README.md'], find: 'fixture', replace: 'fixture' }],
    maxConcurrentRuns: 12,
    publishRate: { max: 100, windowMs: 1_000 },
    rollout: {
      waves: [{ name: 'canary', size: 3, select: { repos: canary } }, { name: 'early', size: '25%' }, { name: 'rest' }],
      gate: { minMerged: 2, maxChecksFailingShare: 0.25 },
      gateCheckEveryMs: 300,
    },
  });
  const progress = () => harness.client.campaignProgress(id);
  const wave = (p: CampaignProgress, name: string) => p.rollout!.waves.find((w) => w.name === name)!;
  const changesOf = async (repos: string[]) =>
    (await forge.listChangeRequests()).filter((cr) => repos.includes(cr.repo));

  // The canary wave publishes alone, then waits on its gate.
  const held = await eventually(progress, (p) => wave(p, 'canary').gateReasons !== undefined, 120_000);
  expect(held.admitted).toBe(3);
  expect(wave(held, 'canary')).toMatchObject({ size: 3, admitted: 3, status: 'gating' });
  expect(held.rollout!.reason).toBe('wave canary: 0 of 3 merged, gate needs 2');
  expect((await forge.listChangeRequests()).map((cr) => cr.repo).sort()).toEqual([...canary].sort());
  // Its change tracker started at the first publish: while the campaign holds, the burndown already has all three.
  const tracked = await eventually(
    () => harness.client.campaignBurndown(id),
    (b) => b.checkedAt !== undefined && b.changes.length === 3 && b.changes.every((c) => c.state === 'open'),
    60_000,
  );
  expect(tracked).toMatchObject({ open: 3, pending: 0, done: 0 });
  expect(tracked.changes.map((c) => c.repo).sort()).toEqual([...canary].sort());

  // Two canary merges: the gate holds and the next wave (25% of 12) starts by itself.
  const canaryChanges = await changesOf(canary);
  for (const cr of canaryChanges.slice(0, 2)) await forge.markMerged({ name: cr.repo, url: '' }, cr.number);
  const early = await eventually(progress, (p) => wave(p, 'early').gateReasons !== undefined, 120_000);
  expect(wave(early, 'canary')).toMatchObject({ status: 'passed', decision: { action: 'advanced', by: 'gate' } });
  expect(wave(early, 'canary').figures).toMatchObject({ opened: 3, merged: 2, open: 1 });
  expect(wave(early, 'early')).toMatchObject({ size: 3, admitted: 3, status: 'gating' });
  expect(early.admitted).toBe(6);

  // Failing checks on two of the early wave's three change requests pause the rollout, naming the figure.
  const earlyRepos = targets.map((t) => t.repo).filter((r) => !canary.includes(r));
  const earlyChanges = await changesOf(earlyRepos);
  expect(earlyChanges).toHaveLength(3);
  for (const cr of earlyChanges.slice(0, 2)) await forge.setChecks({ name: cr.repo, url: '' }, cr.number, 'failing');
  const paused = await eventually(progress, (p) => p.rollout?.status === 'paused', 60_000);
  expect(paused.paused).toBe(true);
  expect(paused.pausedReason).toContain('wave early: checks failing on 2 of 3 (66.7%), gate allows 25%');
  expect(paused.admitted).toBe(6);

  // A person advances by hand: recorded with who and why, and the rest of the fleet is admitted.
  const advanced = await harness.client.advanceWave(id, 'alice', 'the failing check is a known flake');
  expect(advanced.waves[1].decision).toMatchObject({
    action: 'advanced',
    by: 'alice',
    reason: 'the failing check is a known flake',
  });
  const result = await harness.client.campaignResult(id);
  expect(result.counts).toEqual({ published: 12 });
  expect(result.rollout!.waves.map((w) => [w.name, w.status, w.admitted])).toEqual([
    ['canary', 'passed', 3],
    ['early', 'passed', 3],
    ['rest', 'done', 6],
  ]);

  // The outcomes match the forge: 2 of 12 merged, time to merge from the forge's own timestamps, cost per change.
  const all = await forge.listChangeRequests();
  const durations = all
    .filter((cr) => cr.state === 'merged')
    .map((cr) => Date.parse(cr.mergedAt!) - Date.parse(cr.createdAt!))
    .sort((a, b) => a - b);
  expect(durations).toHaveLength(2);
  const status = await harness.client.campaignProgress(id);
  for (const outcomes of [result.outcomes!, status.outcomes!])
    expect(outcomes).toMatchObject({
      opened: 12,
      merged: 2,
      open: 10,
      closedUnmerged: 0,
      reverted: 0,
      mergeRate: 2 / 12,
      timeToMergeMs: { median: durations[0], p95: durations[1] },
      costUsd: 0.6,
      costPerPublishedUsd: RUN_COST_USD,
      costPerMergedUsd: 0.3,
    });

  // `campaign status --json` and `regatta report --json` say the same, read from the forge.
  const cli = await regattaJson<{ progress: CampaignProgress }>('campaign', 'status', id, '--json');
  expect(cli.progress.outcomes).toEqual(status.outcomes);
  expect(cli.progress.rollout!.waves[1].decision).toMatchObject({ by: 'alice' });
  await forge.markMerged({ name: earlyChanges[2].repo, url: '' }, earlyChanges[2].number);
  const report = await regattaJson<ChangeReport>('report', '--since', startedAt.toISOString(), '--json');
  const row = report.campaigns.find((c) => c.campaignId === id);
  expect(row?.outcomes).toMatchObject({ opened: 12, merged: 3, open: 9, mergeRate: 0.25, costPerMergedUsd: 0.2 });
  expect(report.byOwner.find((r) => r.key === owner)?.outcomes).toMatchObject({
    opened: 12,
    merged: 3,
  });
  expect(report.byTaskType.find((r) => r.key === 'codemod')?.outcomes.merged).toBeGreaterThanOrEqual(3);
}, 300_000);
