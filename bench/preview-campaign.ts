/**
 * The Regatta side of the control-plane benchmarks: a preview campaign of `targets` runs in a window, every run
 * `changed`, the execution plane scripted (no sandbox), on real control activities (policy decision). Its workers
 * take their tuning from the environment (REGATTA_WORKFLOW_TASK_SLOTS and the like), as the control worker does.
 */
import { createControlActivities } from '../activities/control';
import type { connectTemporalClient } from '../src/client/connection';
import type { Target } from '../src/contracts';
import { campaignWorkflowId } from '../src/temporal/ids';
import { startHarness } from '../test/support/harness';
import { eventMs, historiesOf } from '../test/support/history';
import { scriptedExecution } from '../test/support/scripted-execution';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** History lengths of a sample of the children a run started, by workflow id prefix. */
export async function eventsPerChild(
  client: Awaited<ReturnType<typeof connectTemporalClient>>,
  query: string,
): Promise<number> {
  const lengths: number[] = [];
  for await (const execution of client.workflow.list({ query, pageSize: 50 })) {
    lengths.push(execution.historyLength);
    if (lengths.length >= 50) break;
  }
  return median(lengths);
}

/** The parent's workflow tasks over every execution of its chain: how many, and where their time went. */
export interface ParentTasks {
  tasks: number;
  /** Scheduled to started: waiting for a worker to take the task. */
  waitingMs: number;
  /** Started to completed: the worker's part, with the round trip of its completion. */
  workingMs: number;
}

export function describeParentTasks(t: ParentTasks): string {
  return `parent: ${t.tasks} workflow tasks, ${(t.waitingMs / 1000).toFixed(1)} s waiting for a worker, ${(t.workingMs / 1000).toFixed(1)} s from taken to completed`;
}

/** Reads every execution of `workflowId` (a parent that continued as new has several) from the server's histories. */
export async function parentTasks(
  client: Awaited<ReturnType<typeof connectTemporalClient>>,
  workflowId: string,
): Promise<ParentTasks> {
  const totals: ParentTasks = { tasks: 0, waitingMs: 0, workingMs: 0 };
  for await (const events of historiesOf(client, workflowId)) {
    let scheduled = 0;
    let started = 0;
    for (const event of events) {
      if (event.workflowTaskScheduledEventAttributes) scheduled = eventMs(event);
      else if (event.workflowTaskStartedEventAttributes) {
        started = eventMs(event);
        totals.waitingMs += started - scheduled;
      } else if (event.workflowTaskCompletedEventAttributes) {
        totals.tasks++;
        totals.workingMs += eventMs(event) - started;
      }
    }
  }
  return totals;
}

export async function previewCampaign(
  targets: number,
  window: number,
): Promise<{ ms: number; events: number; parent: ParentTasks }> {
  const harness = await startHarness({
    controlActivities: createControlActivities({}),
    executionActivities: scriptedExecution(() => ({ outcome: 'changed' })).activities,
  });
  try {
    const fleet: Target[] = Array.from({ length: targets }, (_, i) => ({
      repo: `bench/svc-${i}`,
      url: `http://127.0.0.1:9/bench/svc-${i}.git`,
      ref: 'main',
    }));
    const id = `bench-${harness.unique}`;
    const started = Date.now();
    await harness.client.startCampaign({
      id,
      title: 'bench',
      targets: fleet,
      steps: [{ recipe: 'command', run: 'true' }],
      preview: true,
      maxConcurrentRuns: window,
    });
    await harness.client.campaignResult(id);
    const ms = Date.now() - started;
    const events = await eventsPerChild(
      harness.client.temporal,
      `WorkflowType = 'RunWorkflow' AND CampaignId = '${id}'`,
    );
    return { ms, events, parent: await parentTasks(harness.client.temporal, campaignWorkflowId(id)) };
  } finally {
    await harness.shutdown();
  }
}
