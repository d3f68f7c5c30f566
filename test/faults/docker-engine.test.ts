/**
 * Fault: the Docker engine is killed in the middle of a campaign and started again about ten seconds later.
 * Asserted as for every fault: no run lost (each ends in a final state that says what happened), no duplicate
 * change request, no sandbox container left, and the same result as the fault-free campaign run beside it.
 *
 * The engine killed is a dockerd of the test's own (its own socket and data root, the sandbox image loaded into it),
 * so the machine's engine and the tests using it never notice; faults still run after the rest of the suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createControlActivities } from '../../activities/control';
import { loadConfig } from '../../src/config';
import type { CampaignSpecInput, RunSummary, Target } from '../../src/contracts';
import { dockerClientFor, ensureDockerEngine, isolatedDockerEngine } from '../../src/dev/docker-engine';
import { runningService, stopService } from '../../src/dev/processes';
import { LocalForge } from '../../src/forges/local';
import { dockerClient, MANAGED_LABEL, RUN_LABEL } from '../../src/sandbox/driver';
import { engineAnswers } from '../../src/sandbox/engine';
import { controlDeps } from '../../src/workers/control-deps';
import { describeWorkerState, readWorkerState } from '../../src/workers/worker-state';
import { eventually } from '../support/eventually';
import { startHarness, type RegattaHarness } from '../support/harness';
import { fixtureRepo, readStackInfo } from '../support/stack';
import { WAIT_SCRIPT, waitCommand } from '../support/step-scripts';

const RUNS = 6;
const ENGINE_DOWN_MS = 10_000;
const FINAL_STATES = [
  'published',
  'changed',
  'no_changes',
  'failed',
  'policy_denied',
  'rejected',
  'publish_failed',
  'cancelled',
];
const root = path.resolve(__dirname, '../..');
const config = loadConfig();
const engine = isolatedDockerEngine(config.home, 'fault');
const docker = dockerClientFor(engine);
const forge = new LocalForge(path.join(config.home, 'forge', 'local'));
let harness: RegattaHarness;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  await ensureDockerEngine(config.home, engine);
  await loadSandboxImage();
  harness = await startHarness({ controlActivities: createControlActivities(controlDeps(config)) });
  worker = startWorkerProcess();
});
afterAll(async () => {
  worker?.kill('SIGTERM');
  await harness?.shutdown();
  await stopService(config.home, engine.service);
});

/** The machine's sandbox image, copied into the test's engine once (its data root keeps it for the next run). */
async function loadSandboxImage(): Promise<void> {
  const machine = dockerClient();
  const wanted = await machine.getImage(config.sandboxImage).inspect();
  const present = await docker
    .getImage(config.sandboxImage)
    .inspect()
    .catch(() => undefined);
  if (present?.Id === wanted.Id) return;
  const loading = await docker.loadImage(await machine.getImage(config.sandboxImage).get());
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(loading, (err: Error | null) => (err ? reject(err) : resolve(undefined))),
  );
}

/** The production execution worker, as its own process on this test's queue, logging where a failure can be read. */
function startWorkerProcess(): ChildProcess {
  const log = fs.openSync(path.join(config.home, 'logs', `fault-docker-engine-worker-${harness.unique}.log`), 'a');
  const env = {
    ...process.env,
    DOCKER_HOST: `unix://${engine.socketPath}`,
    REGATTA_EXECUTION_QUEUE: harness.queues.execution,
    REGATTA_SANDBOX_REGISTRY: readStackInfo().packageRegistry.url,
    // Every run executes at once, so the engine dies under all of them whatever this host's default slots are.
    REGATTA_EXECUTION_SLOTS: String(RUNS),
  };
  return spawn('node', ['--require', 'tsx/cjs', path.join(root, 'src/workers/execution.ts')], {
    cwd: root,
    env,
    stdio: ['ignore', log, log],
  });
}

function campaign(label: string, targets: Target[]): CampaignSpecInput {
  return {
    id: `${label}-${harness.unique}`,
    title: 'Rename oldName to newName',
    targets,
    maxConcurrentRuns: RUNS,
    steps: [
      { recipe: 'replace', files: ['src/**/*.js', 'test.js'], find: 'oldName', replace: 'newName' },
      // Long enough that the engine dies under every run's sandbox.
      { recipe: 'command', run: waitCommand(15_000) },
    ],
    verify: { commands: ['npm test'] },
  };
}

async function fleetOf(label: string): Promise<Target[]> {
  return Promise.all(
    Array.from({ length: RUNS }, (_, i) =>
      fixtureRepo(`fixtures/${label}-${i}-${harness.unique}`, WAIT_SCRIPT, { owner: 'storefront', tier: 'production' }),
    ),
  );
}

/** What a campaign ended with, per target in order, without names that differ between the two campaigns. */
async function outcome(targets: Target[], runs: RunSummary[]) {
  return Promise.all(
    targets.map(async (target) => {
      const run = runs.find((r) => r.repo === target.repo)!;
      return {
        state: run.state,
        failure: run.failure?.kind,
        touchedFiles: run.touchedFiles,
        changeRequests: (await forge.listChangeRequests({ repo: target.repo })).length,
      };
    }),
  );
}

async function runCampaign(spec: CampaignSpecInput, targets: Target[]): Promise<RunSummary[]> {
  await harness.client.startCampaign(spec);
  await harness.client.campaignResult(spec.id!);
  return Promise.all(targets.map((t) => harness.client.runStatus(`run/${spec.id}/${t.repo}`)));
}

function sandboxesOf(campaignId: string): Promise<{ Id: string; State: string }[]> {
  return docker
    .listContainers({ all: true, filters: { label: [`${MANAGED_LABEL}=true`] } })
    .then((containers) => containers.filter((c) => c.Labels[RUN_LABEL]?.startsWith(`run/${campaignId}/`)));
}

function dockerdPid(): number {
  const record = runningService(config.home, engine.service);
  if (!record) throw new Error(`the test's dockerd (${engine.service}) is not running`);
  return record.pid;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

it('a campaign whose Docker engine is killed and restarted loses no run, duplicates no change request, leaves no sandbox, and ends as a fault-free one', async () => {
  const baselineTargets = await fleetOf('engine-baseline');
  const baselineStarted = Date.now();
  const baseline = await runCampaign(campaign('engine-baseline', baselineTargets), baselineTargets);
  const baselineMs = Date.now() - baselineStarted;

  const targets = await fleetOf('engine-fault');
  const spec = campaign('engine-fault', targets);
  const started = Date.now();
  await harness.client.startCampaign(spec);
  await eventually(
    () => sandboxesOf(spec.id!),
    (containers) => containers.filter((c) => c.State === 'running').length >= RUNS / 2,
    180_000,
  );

  process.kill(dockerdPid(), 'SIGKILL');
  const killedAt = Date.now();
  const paused = await eventually(
    async () => readWorkerState(config.home, worker!.pid!),
    (state) => state?.state === 'paused',
    30_000,
  );
  console.log(`execution worker during the outage: ${describeWorkerState(paused!)}`);
  const during = await Promise.all(
    targets.map((t) => harness.client.runStatus(`run/${spec.id}/${t.repo}`).catch(() => undefined)),
  );
  expect(during.filter((run) => run?.state === 'failed')).toEqual([]);

  await new Promise((resolve) => setTimeout(resolve, Math.max(0, killedAt + ENGINE_DOWN_MS - Date.now())));
  await ensureDockerEngine(config.home, engine);
  expect(await engineAnswers(docker)).toBe(true);
  const engineBackAt = Date.now();
  await harness.client.campaignResult(spec.id!);
  const runs = await Promise.all(targets.map((t) => harness.client.runStatus(`run/${spec.id}/${t.repo}`)));
  const finishedAt = Date.now();

  console.log(
    [
      `Docker engine fault: killed ${seconds(killedAt - started)} into the campaign, answering again ${seconds(engineBackAt - killedAt)} later;`,
      `the campaign finished ${seconds(finishedAt - engineBackAt)} after the engine was back (${seconds(finishedAt - started)} in all; fault-free: ${seconds(baselineMs)});`,
      `${runs.filter((r) => r.events.some((e) => e.note?.startsWith('resumed after waiting'))).length} of ${RUNS} runs waited for the engine.`,
    ].join(' '),
  );
  expect(runs.every((run) => FINAL_STATES.includes(run.state))).toBe(true);
  expect(await outcome(targets, runs)).toEqual(await outcome(baselineTargets, baseline));
  expect(runs.map((run) => run.state)).toEqual(Array(RUNS).fill('published'));
  expect(
    await eventually(
      () => sandboxesOf(spec.id!),
      (containers) => containers.length === 0,
      120_000,
    ),
  ).toEqual([]);
  expect(readWorkerState(config.home, worker!.pid!)?.state).toBe('polling');
}, 900_000);
