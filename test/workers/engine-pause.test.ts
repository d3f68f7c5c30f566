/**
 * An execution worker whose Docker engine stops answering takes no runs (they wait in the queue, they do not fail),
 * and polls again when the engine is back, first removing the sandboxes the outage killed. The engine "goes away"
 * behind a proxy socket, so the real dockerd other tests use keeps running.
 */
import { createControlActivities } from '../../activities/control';
import { artifactStoreFor } from '../../src/artifacts';
import { loadConfig } from '../../src/config';
import { dockerClient } from '../../src/sandbox/driver';
import { reapContainersOfOutage } from '../../src/sandbox/engine';
import { connectWorker } from '../../src/workers/control-worker';
import { runWhileEngineAnswers, workspaceRootFor } from '../../src/workers/execution-worker';
import { containersOfRun } from '../execution/fixture';
import { startEngineProxy, type EngineProxy } from '../support/engine-proxy';
import { eventually } from '../support/eventually';
import { startHarness, type RegattaHarness } from '../support/harness';
import { fixtureRepo } from '../support/stack';

const docker = dockerClient();
let harness: RegattaHarness;
let proxy: EngineProxy;
const shutdown = new AbortController();
let worker: Promise<void> | undefined;
const states: { state: string; since: Date; reason?: string }[] = [];
const reapedAfterOutage: string[] = [];

beforeAll(async () => {
  harness = await startHarness({ controlActivities: createControlActivities({}) });
  proxy = await startEngineProxy();
});
afterAll(async () => {
  shutdown.abort();
  await worker?.catch(() => undefined);
  await proxy?.close();
  await harness?.shutdown();
});

function startWorker(): Promise<void> {
  const config = loadConfig();
  return connectWorker(config.temporal).then((connection) =>
    runWhileEngineAnswers(
      {
        connection,
        namespace: config.temporal.namespace,
        taskQueue: harness.queues.execution,
        identity: `engine-pause-${harness.unique}`,
        // The interrupted run and the one queued during the outage execute side by side once the engine is back.
        runSlots: 2,
        deps: {
          docker: proxy.docker,
          artifacts: artifactStoreFor(config),
          image: config.sandboxImage,
          workspaceRoot: workspaceRootFor(config.home),
        },
      },
      {
        signal: shutdown.signal,
        pingEveryMs: 500,
        onState: (state, since, reason) => states.push({ state, since, reason }),
        onEngineBack: async (since) => {
          reapedAfterOutage.push(...(await reapContainersOfOutage(proxy.docker, since)));
        },
      },
    ).finally(() => connection.close()),
  );
}

it('pauses while the engine is unreachable, leaves new runs queued, and finishes every run once the engine is back', async () => {
  // A named script: policy refuses inline code (`node -e`).
  const script = {
    'touch-later.js':
      "setTimeout(() => require('fs').appendFileSync('README.md', 'touched'), Number(process.argv[2]));\n",
  };
  const slow = await fixtureRepo(`fixtures/engine-pause-slow-${harness.unique}`, script);
  const queued = await fixtureRepo(`fixtures/engine-pause-queued-${harness.unique}`, script);
  const step = (ms: number) => [{ recipe: 'command' as const, run: `node touch-later.js ${ms}` }];
  const slowSpec = {
    id: `engine-pause-slow-${harness.unique}`,
    title: 'A step the outage interrupts',
    targets: [slow],
    steps: step(20_000),
    preview: true,
  };
  const queuedSpec = {
    id: `engine-pause-queued-${harness.unique}`,
    title: 'A run asked for during the outage',
    targets: [queued],
    steps: step(0),
    preview: true,
  };
  const slowRunId = `run/${slowSpec.id}/${slow.repo}`;
  const queuedRunId = `run/${queuedSpec.id}/${queued.repo}`;
  worker = startWorker();
  await eventually(
    async () => states.map((s) => s.state),
    (seen) => seen.includes('polling'),
    30_000,
  );

  await harness.client.startCampaign(slowSpec);
  const [dead] = await eventually(
    () => containersOfRun(docker, slowRunId),
    (containers) => containers.some((c) => c.State === 'running'),
    120_000,
  );
  await proxy.cut();
  await eventually(
    async () => states.at(-1),
    (last) => last?.state === 'paused',
    30_000,
  );
  expect(states.at(-1)?.reason).toBe(`the Docker engine at ${proxy.socketPath} does not answer`);

  await harness.client.startCampaign(queuedSpec);
  // An engine restart kills the containers it had; the proxy's engine did not restart, so do what it would have done.
  await docker.getContainer(dead.Id).kill();
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  expect((await harness.client.runStatus(queuedRunId)).state).toBe('executing');
  expect((await harness.client.runStatus(slowRunId)).state).toBe('executing');
  expect(await containersOfRun(docker, queuedRunId)).toEqual([]);

  await proxy.restore();
  const [slowResult, queuedResult] = await Promise.all([
    harness.client.campaignResult(slowSpec.id),
    harness.client.campaignResult(queuedSpec.id),
  ]);
  expect([slowResult.runs[0].state, queuedResult.runs[0].state]).toEqual(['changed', 'changed']);
  expect(states.map((s) => s.state)).toEqual(['polling', 'paused', 'polling']);
  expect(reapedAfterOutage).toContain(dead.Id);
  expect(await containersOfRun(docker, slowRunId)).toEqual([]);
  const slowRun = await harness.client.runStatus(slowRunId);
  expect(slowRun.events.map((e) => e.note)).toContainEqual(
    expect.stringMatching(/^resumed after waiting \d+ s for the Docker engine/),
  );
}, 300_000);
