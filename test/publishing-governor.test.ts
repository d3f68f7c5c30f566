/**
 * The fleet-wide publish governor under load: many campaigns publishing to one forge host through the real
 * governor workflow on the dev server, real git remotes and the github forge at its HTTP boundary. Execution is
 * scripted (a real patch artifact per run, no sandbox), so twenty runs take seconds, not minutes.
 */
import { createControlActivities } from '../activities/control';
import { artifactStoreFor } from '../src/artifacts';
import { runArtifactKey } from '../src/artifacts/store';
import { connectTemporalClient } from '../src/client/connection';
import type { CampaignSpecInput, ExecutionSpec, Target } from '../src/contracts';
import { loadConfig } from '../src/config';
import { GitHubForge } from '../src/forges/github';
import { fileDiff } from '../src/git/diff';
import { campaignWorkflowId, publishGovernorWorkflowId } from '../src/temporal/ids';
import { controlDeps } from '../src/workers/control-deps';
import { governorStateQuery } from '../workflows/definitions';
import { eventually } from './support/eventually';
import { startFakeGitHub, type FakeGitHub } from './support/github-server';
import { signalsSent } from './support/history';
import { startHarness, type RegattaHarness } from './support/harness';
import { scriptedExecution } from './support/scripted-execution';
import { fixtureRepo, readStackInfo } from './support/stack';

const config = loadConfig();
const README = '# fixture\n';
const WINDOW_MS = 6_000;
/** Event times trail a workflow's own clock by the few milliseconds a workflow task takes. */
const TASK_LATENCY_MS = 250;
const artifacts = artifactStoreFor(config);
let harness: RegattaHarness;
let github: FakeGitHub;
let host: string;

/** A run that changed README.md and passed verification, with the patch stored like the execution plane stores it. */
function patchingExecution() {
  const scripted = scriptedExecution(() => ({
    touchedFiles: ['README.md'],
    verification: { verdict: 'passed', commands: [] },
  }));
  return {
    async executeRun(spec: ExecutionSpec) {
      const result = await scripted.activities.executeRun(spec);
      const patch = await artifacts.put(
        runArtifactKey(spec.runId, 1, 'patch.diff'),
        fileDiff('README.md', README, `${README}\nChanged by Regatta.\n`),
        'patch',
      );
      return { ...result, manifest: { ...result.manifest, artifacts: [patch] } };
    },
  };
}

const repoNames: string[] = [];
beforeAll(async () => {
  host = new URL(readStackInfo().gitBaseUrl).host;
  const unique = Math.random().toString(16).slice(2, 10);
  for (let i = 0; i < 26; i++) repoNames.push(`fixtures/gov-${unique}-${i}`);
  github = await startFakeGitHub(repoNames);
  const governor = { client: await connectTemporalClient(config.temporal), taskQueue: '', max: 5, windowMs: WINDOW_MS };
  const deps = controlDeps(config);
  harness = await startHarness({
    controlActivities: createControlActivities({
      ...deps,
      publish: { ...deps.publish!, forge: new GitHubForge({ apiUrl: github.apiUrl, token: github.token }) },
      governor,
    }),
    executionActivities: patchingExecution(),
  });
  governor.taskQueue = harness.queues.control;
});
afterAll(async () => {
  await harness?.shutdown();
  await github?.close();
});

async function campaign(id: string, names: string[]): Promise<CampaignSpecInput & { id: string; targets: Target[] }> {
  const targets: Target[] = [];
  for (const name of names)
    targets.push(await fixtureRepo(name, { 'README.md': README }, { owner: 'storefront', tier: 'production' }));
  return {
    id: `${id}-${harness.unique}`,
    title: 'Touch the README',
    targets,
    steps: [{ recipe: 'replace', files: ['README.md'], find: 'fixture', replace: 'fixture' }],
    verify: { commands: ['npm test'] },
    maxConcurrentRuns: 5,
    // The campaigns' own rates are generous: only the governor, shared by all of them, holds them back.
    publishRate: { max: 100, windowMs: 1_000 },
  };
}

function pullCreations(): { repo: string; at: number; status: number }[] {
  return github.requests
    .filter((r) => r.method === 'POST' && /^\/repos\/[^/]+\/[^/]+\/pulls$/.test(r.path))
    .map((r) => ({ repo: r.path.split('/').slice(2, 4).join('/'), at: r.at, status: r.status }));
}

it('twenty runs from four campaigns never exceed the governor of five per window, and the governor shows who waits', async () => {
  const campaigns = await Promise.all([0, 1, 2, 3].map((c) => campaign(`gov-${c}`, repoNames.slice(c * 5, c * 5 + 5))));
  await Promise.all(campaigns.map((c) => harness.client.startCampaign(c)));

  const governor = harness.client.temporal.workflow.getHandle(publishGovernorWorkflowId(host, harness.queues.control));
  const busy = await eventually(
    () => governor.query(governorStateQuery).catch(() => undefined),
    (s) => (s?.waiting ?? 0) > 0 && s?.grantedInWindow === 5,
    120_000,
  );
  expect(busy).toMatchObject({ host, max: 5, windowMs: WINDOW_MS, grantedInWindow: 5 });

  const results = await Promise.all(campaigns.map((c) => harness.client.campaignResult(c.id)));
  expect(results.map((r) => r.counts)).toEqual(Array(4).fill({ published: 5 }));

  const granted = await signalsSent(
    harness.client.temporal,
    publishGovernorWorkflowId(host, harness.queues.control),
    'governorPermitGranted',
  );
  expect(Object.keys(granted)).toHaveLength(20);
  const grants = Object.values(granted).sort((a, b) => a - b);
  for (let i = 5; i < grants.length; i++) expect(grants[i] - grants[i - 5]).toBeGreaterThanOrEqual(WINDOW_MS);

  // At the forge a pull request appears one publish after its permit; only the spread of that delay can bring six closer.
  const created = pullCreations().filter((p) => p.status === 201);
  expect(created).toHaveLength(20);
  const runOf = (repo: string) => `run/${campaigns.find((c) => c.targets.some((t) => t.repo === repo))!.id}/${repo}`;
  const delays = created.map((p) => p.at - granted[runOf(p.repo)]);
  const spread = Math.max(...delays) - Math.min(...delays);
  const times = created.map((p) => p.at).sort((a, b) => a - b);
  for (let i = 5; i < times.length; i++)
    expect(times[i] - times[i - 5]).toBeGreaterThanOrEqual(WINDOW_MS - spread - TASK_LATENCY_MS);
}, 300_000);

it('a secondary rate limit holds every campaign publishing to the host until Retry-After, then publishing resumes on its own', async () => {
  // Let the first test's window drain, so the hold, not the bucket, is what keeps permits back.
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
  const before = pullCreations().length;
  github.faults.push({ status: 403, retryAfterSeconds: 4, method: 'POST', pathIncludes: '/pulls', times: 1 });
  const campaigns = await Promise.all(
    [0, 1].map((c) => campaign(`held-${c}`, repoNames.slice(20 + c * 3, 23 + c * 3))),
  );
  await Promise.all(campaigns.map((c) => harness.client.startCampaign(c)));

  const governorId = publishGovernorWorkflowId(host, harness.queues.control);
  const held = await eventually(
    () =>
      harness.client.temporal.workflow
        .getHandle(governorId)
        .query(governorStateQuery)
        .catch(() => undefined),
    (s) => s?.heldUntil !== undefined,
    60_000,
  );
  const limitedCampaign = await eventually(
    () => Promise.all(campaigns.map((c) => harness.client.campaignProgress(c.id))),
    (ps) => ps.some((p) => p.publishing.heldReason !== undefined),
    30_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nforge requests: ${JSON.stringify(github.requests.slice(-30))}`);
  });
  expect(limitedCampaign.find((p) => p.publishing.heldReason)!.publishing.heldReason).toMatch(
    /asked to slow down: .*secondary rate limit/,
  );

  const results = await Promise.all(campaigns.map((c) => harness.client.campaignResult(c.id)));
  expect(results.map((r) => r.counts)).toEqual([{ published: 3 }, { published: 3 }]);

  const creations = pullCreations().slice(before);
  const limited = creations.find((p) => p.status === 403)!;
  const heldUntil = Date.parse(held!.heldUntil!);
  expect(heldUntil - limited.at).toBeGreaterThanOrEqual(4_000 - TASK_LATENCY_MS);
  // No permit is granted, to any campaign, while the host is held.
  const grantedSince = Object.values(
    await signalsSent(harness.client.temporal, governorId, 'governorPermitGranted'),
  ).filter((at) => at > limited.at + TASK_LATENCY_MS);
  expect(grantedSince.filter((at) => at < heldUntil - TASK_LATENCY_MS)).toEqual([]);
  expect(creations.find((p) => p.repo === limited.repo && p.status === 201)!.at - limited.at).toBeGreaterThanOrEqual(
    4_000,
  );
  for (const c of campaigns)
    expect((await harness.client.temporal.workflow.getHandle(campaignWorkflowId(c.id)).describe()).status.name).toBe(
      'COMPLETED',
    );
}, 300_000);
