/**
 * The Regatta side of the control-plane benchmarks: a preview campaign of `targets` runs in a window, every run
 * `changed`, the execution plane scripted (no sandbox), on real control activities (policy decision). Its workers
 * take their tuning from the environment (REGATTA_WORKFLOW_TASK_SLOTS and the like), as the control worker does.
 */
import { createControlActivities } from '../activities/control';
import type { connectTemporalClient } from '../src/client/connection';
import type { Target } from '../src/contracts';
import { startHarness } from '../test/support/harness';
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

export async function previewCampaign(targets: number, window: number): Promise<{ ms: number; events: number }> {
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
    return { ms, events };
  } finally {
    await harness.shutdown();
  }
}
