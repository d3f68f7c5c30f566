/**
 * An execution worker started with REGATTA_EXECUTION_SLOTS=1 says so where an operator looks (its log, its state for
 * `regatta dev status`), and takes one run at a time: a campaign's second run gets a sandbox only once the first's is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createControlActivities } from '../../activities/control';
import { loadConfig } from '../../src/config';
import { dockerClient, MANAGED_LABEL, RUN_LABEL } from '../../src/sandbox/driver';
import { controlDeps } from '../../src/workers/control-deps';
import { describeWorkerState, readWorkerState } from '../../src/workers/worker-state';
import { eventually } from '../support/eventually';
import { startHarness, type RegattaHarness } from '../support/harness';
import { fixtureRepo, readStackInfo } from '../support/stack';

const root = path.resolve(__dirname, '../..');
const config = loadConfig();
const docker = dockerClient();
let harness: RegattaHarness;
let worker: ChildProcess | undefined;
let logFile: string;

beforeAll(async () => {
  harness = await startHarness({ controlActivities: createControlActivities(controlDeps(config)) });
  logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-slots-')), 'execution-worker.log');
  const log = fs.openSync(logFile, 'a');
  const env = {
    ...process.env,
    REGATTA_EXECUTION_QUEUE: harness.queues.execution,
    REGATTA_SANDBOX_REGISTRY: readStackInfo().packageRegistry.url,
    REGATTA_EXECUTION_SLOTS: '1',
  };
  worker = spawn('node', ['--require', 'tsx/cjs', path.join(root, 'src/workers/execution.ts')], {
    cwd: root,
    env,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
});
afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((resolve) => worker!.once('exit', resolve));
    worker.kill('SIGTERM');
    await exited;
  }
  await harness?.shutdown();
});

it('reports one run at a time from REGATTA_EXECUTION_SLOTS, in its log and its status, and runs a campaign one run after the other', async () => {
  const state = await eventually(
    async () => readWorkerState(config.home, worker!.pid!),
    (s) => s?.state === 'polling',
    120_000,
  );
  expect(describeWorkerState(state!)).toMatch(/^polling since \S+, 1 run at once \(REGATTA_EXECUTION_SLOTS\)$/);
  expect(fs.readFileSync(logFile, 'utf8')).toContain(`polling ${harness.queues.execution}`);
  expect(fs.readFileSync(logFile, 'utf8')).toContain('taking 1 run at once (REGATTA_EXECUTION_SLOTS)');

  const slowStep = {
    'slow-step.js': "setTimeout(() => require('fs').appendFileSync('README.md', 'touched'), 3000);\n",
  };
  const targets = await Promise.all([0, 1].map((i) => fixtureRepo(`fixtures/slots-${i}-${harness.unique}`, slowStep)));
  const spec = {
    id: `slots-${harness.unique}`,
    title: 'Two runs the campaign admits at once',
    targets,
    maxConcurrentRuns: 2,
    steps: [{ recipe: 'command' as const, run: 'node slow-step.js' }],
    preview: true,
  };
  const sandboxesAtOnce: number[] = [];
  let done = false;
  const watching = (async () => {
    while (!done) {
      const containers = await docker.listContainers({ all: true, filters: { label: [`${MANAGED_LABEL}=true`] } });
      sandboxesAtOnce.push(containers.filter((c) => c.Labels[RUN_LABEL]?.startsWith(`run/${spec.id}/`)).length);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id).finally(() => (done = true));
  await watching;

  expect(result.runs.map((r) => r.state)).toEqual(['changed', 'changed']);
  expect(Math.max(...sandboxesAtOnce)).toBe(1);
}, 300_000);
