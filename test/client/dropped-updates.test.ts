/**
 * An operator's update lands even when the server drops it: a workflow task that fails after the workflow saw the
 * update takes the update with it (never accepted, nothing in history), and executeUpdateOnce sends it again under
 * the same update id until it lands, once.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { temporal } from '@temporalio/proto';
import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { defineUpdate } from '@temporalio/workflow';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { connectTemporalClient } from '../../src/client/connection';
import { droppedBeforeAcceptance, executeUpdateOnce } from '../../src/client/updates';
import { loadConfig } from '../../src/config';
import { connectWorker } from '../../src/workers/control-worker';
import {
  busyWork,
  droppedUpdateWorkflow,
  finishUpdate,
  pokeSignal,
  type DroppedUpdateResult,
} from '../support/workflows/dropped-update';

const { EventType, PendingWorkflowTaskState } = temporal.api.enums.v1;

const unique = randomUUID().slice(0, 8);
const taskQueue = `test-dropped-updates-${unique}`;
let client: Client;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let workIterations: number;

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Installed already by an earlier test file in this process.
  }
  const config = loadConfig();
  client = await connectTemporalClient(config.temporal);
  connection = await connectWorker(config.temporal);
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../support/workflows/dropped-update'),
    logger: new DefaultLogger('WARN'),
  });
  worker = await Worker.create({ connection, namespace: config.temporal.namespace, taskQueue, workflowBundle });
  running = worker.run();
  workIterations = iterationsForOneSecond();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await client?.connection.close();
});

/** How many turns of the workflow's busyWork take about a second here (the workflow cannot time itself). */
function iterationsForOneSecond(): number {
  busyWork(1_000_000);
  const started = performance.now();
  busyWork(10_000_000);
  return Math.round(10_000_000 * (1_000 / (performance.now() - started)));
}

async function startWorkflow(name: string): Promise<WorkflowHandle<typeof droppedUpdateWorkflow>> {
  const handle = await client.workflow.start(droppedUpdateWorkflow, {
    taskQueue,
    workflowId: `dropped-update-${name}-${unique}`,
    args: [workIterations],
  });
  await waitFor(handle, (task) => task === undefined, 'its first workflow task to complete');
  return handle;
}

/** Polls the workflow's pending task every 20 ms; the 250 ms of `eventually` would miss a task of one second. */
async function waitFor(
  handle: WorkflowHandle,
  done: (task: temporal.api.workflow.v1.IPendingWorkflowTaskInfo | undefined) => boolean,
  what: string,
): Promise<void> {
  const until = Date.now() + 30_000;
  while (!done((await handle.describe()).raw.pendingWorkflowTask ?? undefined)) {
    if (Date.now() > until) throw new Error(`workflow ${handle.workflowId} did not reach ${what} in 30 s`);
    await sleep(20);
  }
}

/** Pokes the workflow while the workflow task carrying `finish` works, so the task fails and drops the update. */
async function pokeWhileFinishing(handle: WorkflowHandle, finishing: Promise<unknown>): Promise<void> {
  const started = (task?: temporal.api.workflow.v1.IPendingWorkflowTaskInfo) =>
    task?.state === PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED;
  await Promise.race([waitFor(handle, started, 'the task carrying the update'), finishing]);
  await sleep(100);
  await handle.signal(pokeSignal);
}

async function acceptedUpdates(handle: WorkflowHandle): Promise<number> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter(
    (event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
  ).length;
}

describe('updates the server drops before accepting them', () => {
  it('an update sent once is lost when its workflow task fails on a signal that arrived meanwhile', async () => {
    const handle = await startWorkflow('once');
    const finishing = handle.executeUpdate(finishUpdate, { args: [{ by: 'alice' }] }).then(
      (answer) => ({ answer }),
      (error: unknown) => ({ error }),
    );
    await pokeWhileFinishing(handle, finishing);
    const outcome = await finishing;

    expect(outcome).toHaveProperty('error');
    const { error } = outcome as { error: Error & { cause?: { details?: string } } };
    expect(error.message).toBe('Workflow Update failed');
    expect(error.cause?.details).toMatch(/workflow task failure/i);
    expect(droppedBeforeAcceptance(error)).toBe(true);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(await acceptedUpdates(handle)).toBe(0);
    await handle.terminate('the update it waited for was dropped');
  });

  it('executeUpdateOnce sends it again under the same update id until it lands, and it runs once', async () => {
    const handle = await startWorkflow('until-it-lands');
    const finishing = executeUpdateOnce(handle, finishUpdate, { args: [{ by: 'alice' }] });
    await pokeWhileFinishing(handle, finishing);

    await expect(finishing).resolves.toBe('finished by alice after 1 poke(s)');
    await expect(handle.result()).resolves.toEqual<DroppedUpdateResult>({ finishes: 1, pokes: 1 });
    expect(await acceptedUpdates(handle)).toBe(1);
  });

  it("executeUpdateOnce throws an update's own failure at once, without sending it again", async () => {
    const handle = await startWorkflow('refused');
    const unknownUpdate = defineUpdate<string, [{ by: string }]>('no-such-update');
    const started = Date.now();

    const error = await executeUpdateOnce(handle, unknownUpdate, { args: [{ by: 'alice' }] }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(droppedBeforeAcceptance(error)).toBe(false);
    // Sent again while it failed, it would answer the same only after two minutes of backoff.
    expect(Date.now() - started).toBeLessThan(5_000);
    await handle.terminate('test done');
  });
});
