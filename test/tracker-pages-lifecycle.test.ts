/**
 * The change lifecycle's limit for a large campaign, made explicit: its tracker keeps the change requests it holds
 * inline alive, while those in stored pages are polled and counted but get no lifecycle (their per-change state
 * would outgrow the tracker's history). The burndown and the tracker's details in the Web UI say how many, and so
 * does `campaign status`. Real dev server; GitHub is a fake at HTTP.
 */
import { createControlActivities } from '../activities/control';
import { artifactStoreFor } from '../src/artifacts';
import { storeTrackedChanges } from '../src/artifacts/pages';
import { loadConfig } from '../src/config';
import type { Burndown } from '../src/contracts';
import { GitHubForge } from '../src/forges/github';
import { controlDeps } from '../src/workers/control-deps';
import { lifecycleSettingsOf } from '../workflows/change-lifecycle';
import type { ChangeTrackerInput } from '../workflows/change-tracker';
import { burndownQuery, campaignEndedSignal, changesPublishedSignal } from '../workflows/definitions';
import { eventually } from './support/eventually';
import { fleetRepos, seedOpenPulls } from './support/github-fleet';
import { startFakeGitHub, type FakeGitHub } from './support/github-server';
import { startHarness, type RegattaHarness } from './support/harness';

const config = loadConfig();
const PAGED_LIFE_REPOS = 12;
let harness: RegattaHarness;
let github: FakeGitHub;

beforeAll(async () => {
  github = await startFakeGitHub(fleetRepos(PAGED_LIFE_REPOS, 'paged-life'));
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

it('says how many change requests in stored pages are polled without the lifecycle, in the burndown and the details', async () => {
  const changes = seedOpenPulls(github, 'regatta/paged-life');
  const campaignId = `tracker-pages-life-${harness.unique}`;
  const store = artifactStoreFor(config);
  const repos = [...github.pulls.keys()];
  // Of the 8 paged ones, 2 are merged already.
  for (const repo of repos.slice(4, 6))
    Object.assign(github.pulls.get(repo)![0], { state: 'closed', merged_at: '2026-12-01T00:00:00Z' });
  const input: ChangeTrackerInput = {
    campaignId,
    counts: { published: 12 },
    changes: changes.slice(0, 4),
    changePages: [await storeTrackedChanges(store, campaignId, 1, changes.slice(4))],
    queues: harness.queues,
    pollMs: 1_000,
    untilMs: Date.now() + 10 * 60_000,
    lifecycle: lifecycleSettingsOf({ automerge: true }),
  };
  const handle = await harness.client.temporal.workflow.start('ChangeTrackerWorkflow', {
    workflowId: `tracker/${campaignId}`,
    taskQueue: harness.queues.control,
    args: [input],
  });
  try {
    const burndown = await eventually(
      () => handle.query(burndownQuery),
      (b: Burndown) => b.checkedAt !== undefined,
      120_000,
    );
    expect(burndown).toMatchObject({ withoutLifecycle: 8, merged: 2, open: 10 });
    expect(burndown.changes).toHaveLength(4);
    const details = await eventually(
      () =>
        handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata').then((m) => m.currentDetails ?? ''),
      (d) => d.includes('stored pages'),
      60_000,
    );
    expect(details).toContain('; 8 change request(s) in stored pages are polled only, without the lifecycle');
  } finally {
    await handle.terminate('test over').catch(() => undefined);
  }
});

it('a tracker without stored pages reports no such limit', async () => {
  const campaignId = `tracker-nopages-life-${harness.unique}`;
  const input: ChangeTrackerInput = {
    campaignId,
    counts: { published: 1 },
    changes: [{ repo: [...github.pulls.keys()][0], url: 'https://github.example/x/pull/1', branch: 'regatta/none' }],
    queues: harness.queues,
    pollMs: 1_000,
    untilMs: Date.now() + 10 * 60_000,
    lifecycle: lifecycleSettingsOf({}),
  };
  const handle = await harness.client.temporal.workflow.start('ChangeTrackerWorkflow', {
    workflowId: `tracker/${campaignId}`,
    taskQueue: harness.queues.control,
    args: [input],
  });
  try {
    const burndown = await eventually(
      () => handle.query(burndownQuery),
      (b: Burndown) => b.checkedAt !== undefined,
      120_000,
    );
    expect(burndown.withoutLifecycle).toBeUndefined();
    expect(burndown.merged).toBeDefined();
  } finally {
    await handle.terminate('test over').catch(() => undefined);
  }
});

it('a tracker started while its campaign runs takes each later change and page once, and ends only after the campaign', async () => {
  const campaignId = `tracker-open-${harness.unique}`;
  const store = artifactStoreFor(config);
  const changes = seedOpenPulls(github, `regatta/${campaignId}`);
  expect(changes).toHaveLength(PAGED_LIFE_REPOS);
  // Every one merged already: a tracker of an ended campaign would stop after its first poll.
  for (const c of changes)
    for (const pull of github.pulls.get(c.repo)!)
      Object.assign(pull, { state: 'closed', merged_at: '2026-12-01T00:00:00Z' });
  const input: ChangeTrackerInput = {
    campaignId,
    counts: { published: 2, executing: 10 },
    changes: changes.slice(0, 2),
    queues: harness.queues,
    pollMs: 500,
    untilMs: Date.now() + 10 * 60_000,
    lifecycle: lifecycleSettingsOf({ revertWatchMs: 0 }),
    campaignOpen: true,
  };
  const handle = await harness.client.temporal.workflow.start('ChangeTrackerWorkflow', {
    workflowId: `tracker/${campaignId}`,
    taskQueue: harness.queues.control,
    args: [input],
  });
  try {
    await eventually(
      () => handle.query(burndownQuery),
      (b: Burndown) => b.checkedAt !== undefined,
      60_000,
    );
    // A later publish repeats one change already held; the same signal delivered twice (a retried campaign) adds nothing.
    const published = {
      changes: changes.slice(1, 4),
      pages: [await storeTrackedChanges(store, campaignId, 2, changes.slice(4))],
      counts: { published: 11, executing: 1 },
    };
    await handle.signal(changesPublishedSignal, published);
    await handle.signal(changesPublishedSignal, published);
    const taken = await eventually(
      () => handle.query(burndownQuery),
      (b: Burndown) => b.withoutLifecycle !== undefined && b.changes.every((c) => c.state === 'merged'),
      60_000,
    );
    expect(taken).toMatchObject({ done: 12, merged: 12, withoutLifecycle: 8, pending: 1, open: 0 });
    expect(taken.changes.map((c) => c.repo)).toEqual(changes.slice(0, 4).map((c) => c.repo));
    expect((await handle.describe()).status.name).toBe('RUNNING');

    await handle.signal(campaignEndedSignal, { changes: [], counts: { published: 12 }, untilMs: Date.now() + 600_000 });
    const last = await handle.result();
    expect(last).toMatchObject({ done: 12, merged: 12, pending: 0, open: 0, failed: 0 });
  } finally {
    await handle.terminate('test over').catch(() => undefined);
  }
});
