/**
 * Tracking published change requests: the ChangeTrackerWorkflow on the real dev server polls the github forge
 * (faked at its HTTP boundary) and its burndown follows what reviewers do, through a 429 from the forge.
 */
import { createControlActivities } from '../activities/control';
import type { Burndown, TrackedChange } from '../src/contracts';
import { loadConfig } from '../src/config';
import { GitHubForge } from '../src/forges/github';
import { controlDeps } from '../src/workers/control-deps';
import { burndownQuery } from '../workflows/definitions';
import { eventually } from './support/eventually';
import { startFakeGitHub, type FakeGitHub } from './support/github-server';
import { startHarness, type RegattaHarness } from './support/harness';

const REPOS = ['acme/merged', 'acme/closed', 'acme/failing', 'acme/passing'];
const BRANCH = 'regatta/track';
let harness: RegattaHarness;
let github: FakeGitHub;
let forge: GitHubForge;

beforeAll(async () => {
  github = await startFakeGitHub(REPOS);
  forge = new GitHubForge({ apiUrl: github.apiUrl, token: github.token });
  const deps = controlDeps(loadConfig());
  harness = await startHarness({
    controlActivities: createControlActivities({ ...deps, publish: { ...deps.publish!, forge } }),
  });
});
afterAll(async () => {
  await harness?.shutdown();
  await github?.close();
});

function pull(repo: string) {
  return github.pulls.get(repo)![0];
}

it('the burndown counts merged, closed, open with failing checks and unsettled runs, and keeps polling through a 429', async () => {
  const changes: TrackedChange[] = [];
  for (const repo of REPOS) {
    const cr = await forge.findOrCreateChangeRequest({
      repo: { name: repo, url: `https://github.example/${repo}.git` },
      branch: BRANCH,
      base: 'main',
      title: 't',
      body: 'b',
      autonomy: 'supervised_pr',
      labels: [],
      reviewers: [],
      headCommit: 'f'.repeat(40),
    });
    changes.push({ repo, url: cr.url, branch: BRANCH });
  }
  Object.assign(pull('acme/merged'), { state: 'closed', merged_at: '2026-11-22T00:00:00Z' });
  pull('acme/closed').state = 'closed';
  github.checks.set('f'.repeat(40), [{ status: 'completed', conclusion: 'success' }]);
  pull('acme/failing').head.sha = 'e'.repeat(40);
  github.checks.set('e'.repeat(40), [{ status: 'completed', conclusion: 'failure' }]);

  const campaignId = `track-${harness.unique}`;
  const handle = await harness.client.temporal.workflow.start('ChangeTrackerWorkflow', {
    workflowId: `tracker/${campaignId}`,
    taskQueue: harness.queues.control,
    args: [
      {
        campaignId,
        counts: { published: 4, no_changes: 1, failed: 1, publish_failed: 1, needs_approval: 1 },
        changes,
        queues: harness.queues,
        pollMs: 300,
        untilMs: Date.now() + 120_000,
      },
    ],
  });
  const first = await eventually(
    () => handle.query(burndownQuery),
    (b) => b.checkedAt !== undefined,
    30_000,
  );
  expect(first).toMatchObject({ done: 2, open: 2, checksFailing: 1, pending: 1, failed: 3 });
  expect(Object.fromEntries(first.changes.map((c) => [c.repo, [c.state, c.checks]]))).toEqual({
    'acme/merged': ['merged', 'passing'],
    'acme/closed': ['closed', 'passing'],
    'acme/failing': ['open', 'failing'],
    'acme/passing': ['open', 'passing'],
  });

  const limitedFrom = github.requests.length;
  github.faults.push({ status: 429, retryAfterSeconds: 2, method: 'GET', pathIncludes: '/pulls', times: 1 });
  await eventually(
    () => Promise.resolve(github.faults[0].times),
    (left) => left === 0,
    10_000,
  );
  for (const repo of ['acme/failing', 'acme/passing'])
    Object.assign(pull(repo), { state: 'closed', merged_at: '2026-11-22T01:00:00Z' });

  const last: Burndown = await handle.result();
  expect(last).toMatchObject({ done: 4, open: 0, checksFailing: 0, pending: 1, failed: 3 });
  const afterLimit = github.requests.slice(limitedFrom);
  const limited = afterLimit.findIndex((r) => r.status === 429);
  expect(afterLimit[limited + 1].at - afterLimit[limited].at).toBeGreaterThanOrEqual(2_000);
});
