/**
 * A 50,000-target campaign on the real Temporal dev server: its targets travel by reference (pages of 500 in the
 * artifact store), so the workflow's input, each event and the history stay far under Temporal's limits (2 MB per
 * payload, 50 MB and 51,200 events per history). The execution plane is scripted: the point is the control plane.
 */
import { temporal } from '@temporalio/proto';
import { createControlActivities } from '../activities/control';
import type { Target } from '../src/contracts';
import { campaignWorkflowId } from '../src/temporal/ids';
import { eventually } from './support/eventually';
import { startHarness, type RegattaHarness } from './support/harness';
import { scriptedExecution } from './support/scripted-execution';

const TARGETS = 50_000;
let harness: RegattaHarness;

beforeAll(async () => {
  harness = await startHarness({
    controlActivities: createControlActivities({}),
    executionActivities: scriptedExecution(() => ({ outcome: 'no_changes' })).activities,
  });
});
afterAll(async () => harness?.shutdown());

function fleet(n: number): Target[] {
  return Array.from({ length: n }, (_, i) => ({
    repo: `acme/svc-${String(i).padStart(5, '0')}`,
    url: `http://127.0.0.1:9/acme/svc-${i}.git`,
    ref: 'main',
    owner: `team-${i % 40}`,
  }));
}

/** Every execution of the campaign's workflow (one per continue-as-new), with its event count, bytes and largest event. */
async function executions(campaignId: string) {
  const found = [];
  for await (const run of harness.client.temporal.workflow.list({
    query: `WorkflowId = '${campaignWorkflowId(campaignId)}'`,
  })) {
    const history = await harness.client.temporal.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const sizes = (history.events ?? []).map((e) => temporal.api.history.v1.HistoryEvent.encode(e).finish().length);
    found.push({
      runId: run.runId,
      events: sizes.length,
      bytes: sizes.reduce((a, b) => a + b, 0),
      largest: Math.max(...sizes),
      started: sizes[0],
    });
  }
  return found;
}

it(`starts and runs a ${TARGETS.toLocaleString('en')}-target campaign under Temporal's payload and history limits`, async () => {
  const spec = {
    id: `scale-${harness.unique}`,
    title: 'fleet scale',
    targets: fleet(TARGETS),
    steps: [{ recipe: 'command' as const, run: 'true' }],
    preview: true,
    maxConcurrentRuns: 200,
  };
  const started = Date.now();
  await harness.client.startCampaign(spec);
  // Past the first page of 500, so at least one stored page has been read.
  const progress = await eventually(
    () => harness.client.campaignProgress(spec.id),
    (p) => p.admitted >= 700,
    900_000,
  );
  const seconds = (Date.now() - started) / 1000;
  expect(progress.total).toBe(TARGETS);

  const runs = await executions(spec.id);
  const largest = Math.max(...runs.map((r) => r.largest));
  console.log(
    `${TARGETS} targets: ${progress.admitted} runs admitted in ${seconds.toFixed(0)} s; ${runs.length} execution(s); started event ${runs.at(-1)!.started} B; ` +
      `largest event ${largest} B; histories ${runs.map((r) => `${r.events} events/${(r.bytes / 1e6).toFixed(2)} MB`).join(', ')}`,
  );
  // The inline targets alone would be ~4.5 MB; by reference, the start is one page.
  expect(runs.every((r) => r.started < 200_000)).toBe(true);
  expect(largest).toBeLessThan(512 * 1024);
  expect(runs.every((r) => r.events < 51_200 && r.bytes < 50 * 1024 * 1024)).toBe(true);

  const cancelled = await harness.client.cancelCampaign(spec.id, 'scale test', 'measured');
  const counted = Object.values(cancelled.counts).reduce((a, b) => a + (b ?? 0), 0);
  expect(counted).toBe(TARGETS);
  expect(cancelled.counts.skipped).toBeGreaterThan(TARGETS - 2_000);
}, 1_200_000);
