/** `regatta dev status` says why an execution worker that is alive takes no runs: its own state file, read by pid. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { describeStatus, withExecutionSlots } from '../../src/dev/cli';
import { startService, stopService } from '../../src/dev/processes';
import { stackStatus } from '../../src/dev/stack';
import { workerServiceName, workerStatus } from '../../src/dev/workers';
import { writeWorkerState } from '../../src/workers/worker-state';

const config = { ...loadConfig(), home: fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-status-')) };
const service = workerServiceName('execution');
let pid: number;

beforeAll(() => {
  // Any live process stands in for the worker: status reads its pid file, then the state file of that pid.
  pid = startService(config.home, { name: service, command: 'sleep', args: ['120'] }).pid;
});
afterAll(async () => {
  await stopService(config.home, service);
  fs.rmSync(config.home, { recursive: true, force: true });
});

it('reports a paused execution worker as down, with since when and why it takes no runs', async () => {
  const reason = 'the Docker engine at /var/run/docker.sock does not answer';
  writeWorkerState(config.home, {
    state: 'paused',
    since: '2026-12-03T09:13:00.000Z',
    reason,
    identity: 'execution@test',
    taskQueue: config.queues.execution,
    pid,
  });

  const status = await workerStatus(config, 'execution');

  expect(status.healthy).toBe(false);
  expect(status.error).toBe(`takes no runs: paused since 2026-12-03T09:13:00.000Z: ${reason}`);
});

it('reports what a polling worker says it does', async () => {
  writeWorkerState(config.home, {
    state: 'polling',
    since: '2026-12-03T09:14:00.000Z',
    identity: 'execution@test',
    taskQueue: config.queues.execution,
    pid,
  });

  const status = await workerStatus(config, 'execution');

  expect(status.state).toBe('polling since 2026-12-03T09:14:00.000Z');
  expect(status.error ?? '').not.toContain('takes no runs');
});

it('shows in `regatta dev status` how many runs the execution worker takes at once, and where that number came from', async () => {
  const slots = { slots: 1, source: 'REGATTA_EXECUTION_SLOTS' };
  writeWorkerState(config.home, {
    state: 'polling',
    since: '2026-12-03T09:15:00.000Z',
    identity: 'execution@test',
    taskQueue: config.queues.execution,
    pid,
    slots,
  });

  const table = describeStatus(withExecutionSlots(await stackStatus(config), config));

  const row = table.split('\n').find((line) => line.startsWith('execution-worker'));
  expect(row).toMatch(new RegExp(`pid ${pid}, \\d+ poller\\(s\\), 1 run at once \\(REGATTA_EXECUTION_SLOTS\\)`));
  expect((await workerStatus(config, 'execution')).state).toBe(
    'polling since 2026-12-03T09:15:00.000Z, 1 run at once (REGATTA_EXECUTION_SLOTS)',
  );
});
