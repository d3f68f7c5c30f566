/**
 * The tracker's and the desired-state survey's forge reads, as activities in Temporal's MockActivityEnvironment,
 * against a GitHub-shaped server on loopback: they read in batches with a heartbeat after each, and a retried
 * attempt resumes from the last heartbeat instead of reading the fleet again.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createControlActivities } from '../../activities/control';
import type { BatchProgress } from '../../src/temporal/resumable-batches';
import { LocalArtifactStore } from '../../src/artifacts';
import { GitHubForge } from '../../src/forges/github';
import { fleetRepos, seedOpenPulls } from '../support/github-fleet';
import { startFakeGitHub, type FakeGitHub } from '../support/github-server';

jest.setTimeout(120_000);

const BRANCH = 'regatta/logger-2x';
let github: FakeGitHub;
let home: string;
let activities: ReturnType<typeof createControlActivities>;

beforeEach(async () => {
  github = await startFakeGitHub(fleetRepos(250));
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-tracking-resume-'));
  const forge = new GitHubForge({ apiUrl: github.apiUrl, token: github.token });
  const artifacts = new LocalArtifactStore(home);
  activities = createControlActivities({
    publish: {
      artifacts,
      forge,
      author: { name: 'Regatta', email: 'regatta@localhost' },
      runUiUrl: () => 'http://ui.example',
    },
  });
});
afterEach(async () => {
  await github.close();
  fs.rmSync(home, { recursive: true, force: true });
});

/** Runs an activity as Temporal would run one attempt: the previous attempt's heartbeat details come back as JSON. */
async function attempt<R>(
  fn: () => Promise<R>,
  attemptNumber: number,
  heartbeatDetails?: unknown,
): Promise<{ result?: R; error?: unknown; heartbeats: BatchProgress<unknown>[] }> {
  const info = {
    attempt: attemptNumber,
    heartbeatDetails: heartbeatDetails && JSON.parse(JSON.stringify(heartbeatDetails)),
  };
  const env = new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
  const heartbeats: BatchProgress<unknown>[] = [];
  env.on('heartbeat', (details: BatchProgress<unknown>) => heartbeats.push(details));
  try {
    return { result: await env.run(fn), heartbeats };
  } catch (error) {
    return { error, heartbeats };
  }
}

function reposRead(from: number): string[] {
  return github.requests.slice(from).flatMap((r) => /^\/repos\/([^/]+\/[^/]+)\/pulls\?/.exec(r.path)?.[1] ?? []);
}

it('a tracker attempt stopped by a 429 is retried from its last heartbeat, not from the first repository', async () => {
  const changes = seedOpenPulls(github, BRANCH);
  const changeRequestStates = activities.changeRequestStates!;
  github.faults.push({
    status: 429,
    retryAfterSeconds: 1,
    method: 'GET',
    pathIncludes: '/fleet/service-0150/pulls',
    times: 1,
  });

  const first = await attempt(() => changeRequestStates(changes), 1);
  expect(first.error).toBeInstanceOf(ApplicationFailure);
  expect(first.error).toMatchObject({ type: 'ForgeRateLimitedError', nextRetryDelay: 1000 });
  expect(first.heartbeats.map((h) => [h.done, h.total, h.values.length])).toEqual([[100, 250, 100]]);

  const resumedFrom = github.requests.length;
  const second = await attempt(() => changeRequestStates(changes), 2, first.heartbeats.at(-1));
  const states = second.result!;
  expect(Object.keys(states)).toHaveLength(250);
  expect(Object.values(states).every((cr) => cr?.state === 'open')).toBe(true);
  const reread = reposRead(resumedFrom);
  expect(reread[0]).toBe('fleet/service-0100');
  expect(reread).toHaveLength(150);
  expect(second.heartbeats.map((h) => h.done)).toEqual([200, 250]);
});

it("the desired-state survey's check for open change requests reads in batches and names only the open ones", async () => {
  const changes = seedOpenPulls(github, BRANCH);
  for (const repo of ['fleet/service-0007', 'fleet/service-0199']) github.pulls.get(repo)![0].state = 'closed';
  const reposWithOpenChangeRequest = activities.reposWithOpenChangeRequest!;
  const targets = changes.map((c) => ({ repo: c.repo, url: `https://github.example/${c.repo}.git`, ref: 'main' }));

  const run = await attempt(() => reposWithOpenChangeRequest({ targets, branch: BRANCH }), 1);
  expect(run.result).toHaveLength(248);
  expect(run.result).not.toContain('fleet/service-0007');
  expect(run.result).not.toContain('fleet/service-0199');
  expect(run.heartbeats.map((h) => h.done)).toEqual([100, 200, 250]);
});
