/**
 * A large campaign's published changes reach its tracker by reference: pages of 500 stored in the artifact store.
 * ChangeTrackerWorkflow on the real dev server reads and polls each page, keeps only its counts, and its burndown
 * counts every change request, paged or not, with no event near Temporal's payload limit.
 */
import { temporal } from '@temporalio/proto';
import { createControlActivities } from '../activities/control';
import { artifactStoreFor } from '../src/artifacts';
import { storeTrackedChanges } from '../src/artifacts/pages';
import { loadConfig } from '../src/config';
import type { Burndown } from '../src/contracts';
import { GitHubForge } from '../src/forges/github';
import { controlDeps } from '../src/workers/control-deps';
import type { ChangeTrackerInput } from '../workflows/change-tracker';
import { burndownQuery } from '../workflows/definitions';
import { eventually } from './support/eventually';
import { fleetRepos, seedOpenPulls } from './support/github-fleet';
import { startFakeGitHub, type FakeGitHub } from './support/github-server';
import { startHarness, type RegattaHarness } from './support/harness';

const config = loadConfig();
let harness: RegattaHarness;
let github: FakeGitHub;

beforeAll(async () => {
  github = await startFakeGitHub(fleetRepos(1_200, 'paged'));
  const forge = new GitHubForge({ apiUrl: github.apiUrl, token: github.token });
  const deps = controlDeps(config);
  harness = await startHarness({
    controlActivities: createControlActivities({ ...deps, publish: { ...deps.publish!, forge } }),
  });
}, 120_000);
afterAll(async () => {
  await harness?.shutdown();
  await github?.close();
});

it('tracks 1,200 change requests of which 1,000 are in stored pages, counting them all', async () => {
  const changes = seedOpenPulls(github, 'regatta/paged');
  const campaignId = `tracker-pages-${harness.unique}`;
  const store = artifactStoreFor(config);
  const changePages = [
    await storeTrackedChanges(store, campaignId, 1, changes.slice(200, 700)),
    await storeTrackedChanges(store, campaignId, 2, changes.slice(700)),
  ];
  // 300 paged ones merged and 100 closed before the first poll; the 200 held inline stay open.
  const repos = [...github.pulls.keys()];
  for (const repo of repos.slice(200, 500))
    Object.assign(github.pulls.get(repo)![0], { state: 'closed', merged_at: '2026-12-01T00:00:00Z' });
  for (const repo of repos.slice(500, 600)) Object.assign(github.pulls.get(repo)![0], { state: 'closed' });

  const input: ChangeTrackerInput = {
    campaignId,
    counts: { published: 1_200 },
    changes: changes.slice(0, 200),
    changePages,
    queues: harness.queues,
    pollMs: 2_000,
    untilMs: Date.now() + 30 * 60_000,
  };
  const handle = await harness.client.temporal.workflow.start('ChangeTrackerWorkflow', {
    workflowId: `tracker/${campaignId}`,
    taskQueue: harness.queues.control,
    args: [input],
  });
  const first = await eventually(
    () => handle.query(burndownQuery),
    (b: Burndown) => b.checkedAt !== undefined,
    300_000,
  );
  expect(first).toMatchObject({ done: 300, open: 800, failed: 100 });
  expect(first.changes).toHaveLength(200);

  for (const repo of repos)
    if (github.pulls.get(repo)![0].state === 'open')
      Object.assign(github.pulls.get(repo)![0], { state: 'closed', merged_at: '2026-12-02T00:00:00Z' });
  const last = await handle.result();
  expect(last).toMatchObject({ done: 1_100, open: 0, failed: 100 });

  const history = await handle.fetchHistory();
  const largest = Math.max(
    ...(history.events ?? []).map((e) => temporal.api.history.v1.HistoryEvent.encode(e).finish().length),
  );
  expect(largest).toBeLessThan(64 * 1024);
}, 600_000);
