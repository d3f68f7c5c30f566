/**
 * The change tracker at fleet scale: ChangeTrackerWorkflow on the real dev server tracks 5,000 change requests
 * through the real github forge client, against a GitHub-shaped server on loopback that enforces a rate limit of
 * 4,000 requests per 8-second window (x-ratelimit-* on every answer, 403 past the limit). The tracker must read
 * every state without one refused request, and keep every history event under Temporal's 2 MB payload limit.
 */
import { temporal } from '@temporalio/proto';
import { createControlActivities } from '../activities/control';
import type { Burndown } from '../src/contracts';
import { loadConfig } from '../src/config';
import { GitHubForge } from '../src/forges/github';
import { controlDeps } from '../src/workers/control-deps';
import type { ChangeTrackerInput } from '../workflows/change-tracker';
import { burndownQuery } from '../workflows/definitions';
import { fleetRepos, seedOpenPulls } from './support/github-fleet';
import { startFakeGitHub, type FakeGitHub } from './support/github-server';
import { startHarness, type RegattaHarness } from './support/harness';
import { eventMs } from './support/history';

const CHANGE_REQUESTS = 5_000;
const RATE_LIMIT = { limit: 4_000, windowMs: 8_000 };
const PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024;
const BRANCH = 'regatta/fleet-scale';

let harness: RegattaHarness;
let github: FakeGitHub;

beforeAll(async () => {
  github = await startFakeGitHub(fleetRepos(CHANGE_REQUESTS));
  github.rateLimit = RATE_LIMIT;
  const forge = new GitHubForge({ apiUrl: github.apiUrl, token: github.token });
  const deps = controlDeps(loadConfig());
  harness = await startHarness({
    controlActivities: createControlActivities({ ...deps, publish: { ...deps.publish!, forge } }),
  });
}, 120_000);
afterAll(async () => {
  await harness?.shutdown();
  await github?.close();
});

/** Polls a query at a pace that suits a 5,000-entry answer on a loaded machine. */
async function firstBurndown(read: () => Promise<Burndown>, timeoutMs: number): Promise<Burndown> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const burndown = await read();
    if (burndown.checkedAt) return burndown;
    if (Date.now() > until) throw new Error(`the tracker finished no poll in ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

/** The history an event at a time: the whole of it can be more than a gRPC message may carry. */
async function historyEvents(workflowId: string): Promise<temporal.api.history.v1.IHistoryEvent[]> {
  const events: temporal.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await harness.client.temporal.workflowService.getWorkflowExecutionHistory({
      namespace: loadConfig().temporal.namespace,
      execution: { workflowId },
      maximumPageSize: 1,
      nextPageToken,
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return events;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;

it(
  'tracks 5,000 change requests without a refused request, within the rate limit and the payload limit',
  async () => {
    const changes = seedOpenPulls(github, BRANCH);
    const campaignId = `tracker-scale-${harness.unique}`;
    const input: ChangeTrackerInput = {
      campaignId,
      counts: { published: CHANGE_REQUESTS },
      changes,
      queues: harness.queues,
      pollMs: 5_000,
      untilMs: Date.now() + 60 * 60_000,
    };
    const handle = await harness.client.temporal.workflow.start('ChangeTrackerWorkflow', {
      workflowId: `tracker/${campaignId}`,
      taskQueue: harness.queues.control,
      args: [input],
    });

    const first = await firstBurndown(() => handle.query(burndownQuery), 15 * 60_000);
    expect(first.changes).toHaveLength(CHANGE_REQUESTS);
    expect(first).toMatchObject({ open: CHANGE_REQUESTS, done: 0 });
    expect(first.changes.every((c) => c.state === 'open' && c.checks === 'none')).toBe(true);

    for (const [repo] of github.pulls)
      Object.assign(github.pulls.get(repo)![0], { state: 'closed', merged_at: '2026-11-22T00:00:00Z' });
    const last: Burndown = await handle.result();
    expect(last).toMatchObject({ done: CHANGE_REQUESTS, open: 0, failed: 0 });

    const refused = github.requests.filter((r) => r.status !== 200);
    expect(refused).toEqual([]);
    const windows = [...github.rateWindows.values()];
    expect(windows.every((w) => w.refused === 0)).toBe(true);
    const busiestWindow = Math.max(...windows.map((w) => w.count));
    expect(busiestWindow).toBeLessThanOrEqual(RATE_LIMIT.limit);

    const events = await historyEvents(`tracker/${campaignId}`);
    const sizes = events.map((event) => ({
      type: temporal.api.enums.v1.EventType[event.eventType ?? 0],
      bytes: temporal.api.history.v1.HistoryEvent.encode(event).finish().byteLength,
    }));
    const largest = sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    expect(largest.bytes).toBeLessThan(PAYLOAD_LIMIT_BYTES);

    // Polls go a batch of 100 change requests per activity, each answer kept to what the burndown needs.
    const completions = events.filter(
      (e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    );
    const batchBytes = Math.max(...completions.map((e) => sizes[events.indexOf(e)].bytes));
    expect(completions.length).toBeGreaterThanOrEqual(2 * (CHANGE_REQUESTS / 100));
    expect(batchBytes).toBeLessThan(64 * 1024);
    // The start event holds the 5,000 tracked changes; nothing else comes near it.
    expect(largest.bytes).toBe(sizes[0].bytes);
    expect(largest.bytes).toBeLessThan(1024 * 1024);

    const startedAt = eventMs(events[0]);
    const firstPollAt = Date.parse(first.checkedAt!);
    const firstPollRequests = github.requests.filter((r) => r.at <= firstPollAt).length;
    console.log(
      [
        `tracker of ${CHANGE_REQUESTS} change requests, forge limit ${RATE_LIMIT.limit} requests per ${RATE_LIMIT.windowMs / 1000} s:`,
        `  time to first full poll: ${((firstPollAt - startedAt) / 1000).toFixed(1)} s (${firstPollRequests} requests)`,
        `  requests made: ${github.requests.length} in ${completions.length} batches of 100, refused: ${refused.length}`,
        `  rate-limit windows: ${windows.length}, busiest ${busiestWindow} requests, counts ${windows.map((w) => w.count).join(', ')}`,
        `  largest history event: ${largest.type} ${mb(largest.bytes)} (limit ${mb(PAYLOAD_LIMIT_BYTES)}); largest batch answer ${(batchBytes / 1024).toFixed(1)} KB; history ${events.length} events, ${mb(sizes.reduce((sum, s) => sum + s.bytes, 0))}`,
      ].join('\n'),
    );
  },
  30 * 60_000,
);
