/**
 * Publishing through the github forge: branches pushed to real git remotes, pull requests through the real client
 * code against a GitHub-shaped API on loopback; Temporal and Docker are real.
 */
import { randomUUID } from 'node:crypto';
import { createControlActivities } from '../activities/control';
import type { CampaignSpecInput, PublishRequest, Target } from '../src/contracts';
import { loadConfig } from '../src/config';
import { GitHubForge } from '../src/forges/github';
import { controlDeps } from '../src/workers/control-deps';
import { eventually } from './support/eventually';
import { startFakeGitHub, type FakeGitHub } from './support/github-server';
import { realExecutionActivities, startHarness, type RegattaHarness } from './support/harness';
import { fixtureRepo } from './support/stack';

let harness: RegattaHarness;
let github: FakeGitHub;
let crashAfterPush = false;
const repos = ['crash', 'limited'];

const unique = randomUUID().slice(0, 8);

beforeAll(async () => {
  github = await startFakeGitHub(repos.map((r) => `fixtures/gh-${r}-${unique}`));
  const deps = controlDeps(loadConfig());
  deps.publish!.forge = new GitHubForge({ apiUrl: github.apiUrl, token: github.token });
  deps.publish!.afterPush = async (request: PublishRequest) => {
    if (!crashAfterPush) return;
    crashAfterPush = false;
    throw new Error(`injected crash after pushing ${request.branch}`);
  };
  harness = await startHarness({
    controlActivities: createControlActivities(deps),
    executionActivities: realExecutionActivities(),
  });
});
afterAll(async () => {
  await harness?.shutdown();
  await github?.close();
});

function service(label: string): Promise<Target> {
  return fixtureRepo(
    `fixtures/gh-${label}-${unique}`,
    { '.github/CODEOWNERS': '* @alice @acme/storefront\n' },
    { owner: 'storefront' },
  );
}

function campaign(id: string, target: Target): CampaignSpecInput {
  return {
    id: `${id}-${harness.unique}`,
    title: 'Rename oldName to newName',
    targets: [target],
    steps: [{ recipe: 'replace', files: ['src/**/*.js', 'test.js'], find: 'oldName', replace: 'newName' }],
    verify: { commands: ['npm test'] },
  };
}

it('a crash between push and pull request, retried, ends with one pull request with reviewers from CODEOWNERS', async () => {
  const target = await service('crash');
  crashAfterPush = true;
  const spec = campaign('gh-crash', target);
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id!);
  expect(crashAfterPush).toBe(false);
  expect(result.runs[0]).toMatchObject({ state: 'published', changeRequestUrl: 'https://github.example/pull/1' });
  const pulls = github.pulls.get(target.repo)!;
  expect(pulls).toHaveLength(1);
  expect(pulls[0]).toMatchObject({
    head: { ref: `regatta/${spec.id}` },
    reviewers: ['alice'],
    labels: ['regatta', `campaign:${spec.id}`],
  });
  expect(pulls[0].body).toContain('### Verification: passed');
});

it('a secondary rate limit holds publishing, the campaign says so, and publishing resumes after Retry-After', async () => {
  const target = await service('limited');
  github.faults.push({ status: 403, retryAfterSeconds: 3, method: 'POST', pathIncludes: '/pulls', times: 1 });
  const spec = campaign('gh-limited', target);
  await harness.client.startCampaign(spec);
  const held = await eventually(
    () => harness.client.campaignProgress(spec.id!),
    (p) => p.publishing.heldUntil !== undefined,
    120_000,
  );
  expect(held.publishing.heldReason).toMatch(
    /asked to slow down: .*rate limiting publishing for 3 s: You have exceeded a secondary rate limit/,
  );

  const result = await harness.client.campaignResult(spec.id!);
  expect(result.runs[0].state).toBe('published');
  const creates = github.requests.filter((r) => r.method === 'POST' && r.path === `/repos/${target.repo}/pulls`);
  expect(creates.map((r) => r.status)).toEqual([403, 201]);
  expect(creates[1].at - creates[0].at).toBeGreaterThanOrEqual(3000);
});
