/**
 * `regatta campaign advance-wave` / `abort-wave` and the cost figures of `campaign status`, run as a user runs them:
 * the real CLI (bin/regatta.js) against the real stack (Temporal dev server, git server, local forge), execution
 * scripted. Who and why are recorded on the wave; sandbox time is priced at REGATTA_SANDBOX_PRICE_PER_HOUR; bad input
 * is refused naming the field, the value and what was expected, and changes nothing.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createControlActivities } from '../activities/control';
import { artifactStoreFor } from '../src/artifacts';
import { runArtifactKey } from '../src/artifacts/store';
import type { CampaignProgress, RolloutProgress } from '../src/client';
import type { ExecutionSpec, Target } from '../src/contracts';
import { loadConfig } from '../src/config';
import { LocalForge } from '../src/forges/local';
import { fileDiff } from '../src/git/diff';
import { controlDeps } from '../src/workers/control-deps';
import { eventually } from './support/eventually';
import { startHarness, type RegattaHarness } from './support/harness';
import { scriptedExecution } from './support/scripted-execution';
import { fixtureRepo } from './support/stack';

const config = loadConfig();
const README = '# fixture\n';
const RUN_COST_USD = 0.05;
/** Each run's sandbox ran six minutes: a tenth of an hour. */
const SANDBOX_MS = 360_000;
const artifacts = artifactStoreFor(config);
const forgeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-cli-waves-forge-'));
const forge = new LocalForge(forgeRoot);
let harness: RegattaHarness;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI pointed at the test's workers, with `env` added to the environment. */
function regatta(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  const root = path.join(__dirname, '..');
  const fullEnv = { ...process.env, REGATTA_CONTROL_QUEUE: harness.queues.control, ...env };
  return new Promise((resolve) =>
    execFile('node', [path.join(root, 'bin/regatta.js'), ...args], { cwd: root, env: fullEnv }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

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
      const startedAt = new Date(Date.parse(result.finishedAt) - SANDBOX_MS).toISOString();
      return { ...result, startedAt, manifest: { ...result.manifest, artifacts: [patch] } };
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

it('advance-wave and abort-wave record who and why; bad input names field, value and expectation; sandbox time is priced', async () => {
  const targets: Target[] = [];
  for (let i = 0; i < 4; i++)
    targets.push(await fixtureRepo(`fixtures/cli-wave-${harness.unique}-${i}`, { 'README.md': README }));
  const id = `cli-waves-${harness.unique}`;
  await harness.client.startCampaign({
    id,
    title: 'Touch the README',
    targets,
    steps: [{ recipe: 'replace', files: ['README.md'], find: 'fixture', replace: 'fixture' }],
    maxConcurrentRuns: 4,
    publishRate: { max: 100, windowMs: 1_000 },
    rollout: {
      waves: [
        { name: 'canary', size: 1, select: { repos: [targets[0].repo] } },
        { name: 'early', size: 1 },
        { name: 'rest' },
      ],
      gate: { minMerged: 1 },
      gateCheckEveryMs: 300,
    },
  });
  const progress = () => harness.client.campaignProgress(id);
  const wave = (p: CampaignProgress, name: string) => p.rollout!.waves.find((w) => w.name === name)!;
  await eventually(progress, (p) => wave(p, 'canary').gateReasons !== undefined, 120_000);

  // Bad input is refused before anything is decided, naming the field, the value and what was expected.
  const noReason = await regatta({}, 'campaign', 'advance-wave', id, '--by', 'alice');
  expect(noReason.code).toBe(2);
  expect(noReason.stderr).toContain('--reason: got nothing; expected why, recorded on the wave with who decided');
  const unknown = await regatta({}, 'campaign', 'advance-wave', id, '--by', 'alice', '--reason', 'x', '--wave', 'nope');
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain(`--wave: got "nope"; expected one of campaign ${id}'s waves: canary, early, rest`);
  const stale = await regatta({}, 'campaign', 'abort-wave', id, '--by', 'alice', '--reason', 'x', '--wave', 'early');
  expect(stale.code).toBe(2);
  expect(stale.stderr).toContain(`--wave: got "early"; expected the current wave of campaign ${id}, canary`);
  const badPrice = await regatta({ REGATTA_SANDBOX_PRICE_PER_HOUR: 'ten' }, 'campaign', 'status', id);
  expect(badPrice.code).toBe(2);
  expect(badPrice.stderr).toMatch(/REGATTA_SANDBOX_PRICE_PER_HOUR: got "ten"; expected.*number/);
  const held = await progress();
  expect(held.rollout).toMatchObject({ current: 'canary', status: 'gating' });
  expect(wave(held, 'canary').decision).toBeUndefined();

  // advance-wave: the canary wave is passed by hand, with who and why.
  const advanced = await regatta(
    {},
    'campaign',
    'advance-wave',
    id,
    '--by',
    'alice',
    '--reason',
    'the canary looks right',
    '--wave',
    'canary',
    '--json',
  );
  expect(advanced.code).toBe(0);
  const afterAdvance = JSON.parse(advanced.stdout) as RolloutProgress;
  expect(afterAdvance.waves[0].decision).toMatchObject({
    action: 'advanced',
    by: 'alice',
    reason: 'the canary looks right',
  });
  await eventually(progress, (p) => wave(p, 'early').gateReasons !== undefined, 120_000);

  // abort-wave: the rollout stops after the early wave; the rest is never admitted.
  const aborted = await regatta({}, 'campaign', 'abort-wave', id, '--by', 'bob', '--reason', 'enough for this week');
  expect(aborted.code).toBe(0);
  expect(aborted.stdout).toMatch(/aborted by bob: enough for this week/);
  const result = await harness.client.campaignResult(id);
  expect(result.counts).toMatchObject({ published: 2 });
  expect(result.rollout!.waves.find((w) => w.name === 'early')!.decision).toMatchObject({
    action: 'aborted',
    by: 'bob',
    reason: 'enough for this week',
  });
  expect(await forge.listChangeRequests()).toHaveLength(2);

  // One of the two merges: cost per published and per merged change request, sandbox time at the configured price.
  const [first] = await forge.listChangeRequests();
  await forge.markMerged({ name: first.repo, url: '' }, first.number);
  const priced = async (price: string) => {
    const status = await regatta({ REGATTA_SANDBOX_PRICE_PER_HOUR: price }, 'campaign', 'status', id, '--json');
    expect(status.code).toBe(0);
    return (JSON.parse(status.stdout) as { progress: CampaignProgress }).progress.outcomes!;
  };
  const atTen = await eventually(
    () => priced('10'),
    (o) => o.merged === 1,
    60_000,
  );
  // Two runs, each $0.05 of model spend and a tenth of an hour at $10: $1.05 each.
  expect(atTen).toMatchObject({ opened: 2, merged: 1 });
  expect(atTen.costPerPublishedUsd).toBeCloseTo(1.05, 6);
  expect(atTen.costPerMergedUsd).toBeCloseTo(2.1, 6);
  const free = await priced('0');
  expect(free.costPerPublishedUsd).toBeCloseTo(RUN_COST_USD, 6);
  expect(free.costPerMergedUsd).toBeCloseTo(2 * RUN_COST_USD, 6);
  const human = await regatta({ REGATTA_SANDBOX_PRICE_PER_HOUR: '10' }, 'campaign', 'status', id);
  expect(human.stdout).toContain('$1.05 per published, $2.10 per merged');
}, 400_000);
