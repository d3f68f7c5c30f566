/**
 * Leases: an execution worker process killed mid-run loses its lease when its heartbeats stop; the run is
 * retried on a second worker and completes, and the first attempt's sandbox is reaped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createControlActivities } from '../activities/control';
import { loadConfig } from '../src/config';
import { ATTEMPT_LABEL, dockerClient, MANAGED_LABEL, RUN_LABEL } from '../src/sandbox/driver';
import { controlDeps } from '../src/workers/control-deps';
import { eventually } from './support/eventually';
import { realExecutionActivities, startHarness, type RegattaHarness } from './support/harness';
import { fixtureRepo, readStackInfo } from './support/stack';

const root = path.resolve(__dirname, '..');
const docker = dockerClient();
let harness: RegattaHarness;
let firstWorker: ChildProcess | undefined;

beforeAll(async () => {
  harness = await startHarness({ controlActivities: createControlActivities(controlDeps(loadConfig())) });
});
afterAll(async () => {
  firstWorker?.kill('SIGKILL');
  await harness?.shutdown();
});

function startWorkerProcess(): ChildProcess {
  const env = {
    ...process.env,
    REGATTA_EXECUTION_QUEUE: harness.queues.execution,
    REGATTA_SANDBOX_REGISTRY: readStackInfo().packageRegistry.url,
  };
  return spawn('node', ['--require', 'tsx/cjs', path.join(root, 'src/workers/execution.ts')], {
    cwd: root,
    env,
    stdio: 'ignore',
  });
}

it('a run whose worker is killed is retried on another worker after the lease expires, and the dead attempt is reaped', async () => {
  const touchLater = {
    'scripts/touch-later.js':
      "setTimeout(() => require('fs').appendFileSync('README.md', 'touched'), Number(process.argv[2]));\n",
  };
  const target = await fixtureRepo(`fixtures/failover-${harness.unique}`, touchLater);
  const spec = {
    id: `failover-${harness.unique}`,
    title: 'A step that takes a while',
    targets: [target],
    steps: [{ recipe: 'command' as const, run: 'node scripts/touch-later.js 8000' }],
    preview: true,
    leaseTimeoutMs: 5_000,
  };
  firstWorker = startWorkerProcess();
  await harness.client.startCampaign(spec);
  const runId = `run/${spec.id}/${target.repo}`;
  const containersOf = () =>
    docker.listContainers({ all: true, filters: { label: [`${MANAGED_LABEL}=true`, `${RUN_LABEL}=${runId}`] } });
  await eventually(
    containersOf,
    (containers) => containers.some((c) => c.Labels[ATTEMPT_LABEL] === '1' && c.State === 'running'),
    120_000,
  );

  firstWorker.kill('SIGKILL');
  await harness.addExecutionWorker(realExecutionActivities(), `second-worker-${harness.unique}`);

  const result = await harness.client.campaignResult(spec.id);
  expect(result.runs[0].state).toBe('changed');
  const run = await harness.client.runStatus(runId);
  expect(run.manifest?.attempt).toBe(2);
  expect(run.touchedFiles).toEqual(['README.md']);
  expect(await containersOf()).toEqual([]);
}, 300_000);
