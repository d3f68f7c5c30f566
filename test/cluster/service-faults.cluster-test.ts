/**
 * Faults only a cluster has: the history service, then the matching service, SIGKILLed in the middle of a
 * six-run campaign and brought back with `regatta dev up --cluster`. The campaign ends as it would without
 * the fault: every run published, one pull request per repository, no run lost. Execution is scripted (a real
 * patch artifact per run, no sandbox); publishing goes to a fake GitHub over HTTP.
 */
import { createControlActivities } from '../../activities/control';
import { artifactStoreFor } from '../../src/artifacts';
import { runArtifactKey } from '../../src/artifacts/store';
import type { CampaignSpecInput, ExecutionSpec, Target } from '../../src/contracts';
import { loadConfig } from '../../src/config';
import { clusterServiceName, ensureCluster } from '../../src/dev/cluster';
import { clusterConfig, type ClusterService } from '../../src/dev/cluster-config';
import { isPidAlive, runningService } from '../../src/dev/processes';
import { GitHubForge } from '../../src/forges/github';
import { fileDiff } from '../../src/git/diff';
import { controlDeps } from '../../src/workers/control-deps';
import { eventually } from '../support/eventually';
import { startFakeGitHub, type FakeGitHub } from '../support/github-server';
import { startHarness, type RegattaHarness } from '../support/harness';
import { scriptedExecution } from '../support/scripted-execution';
import { fixtureRepo } from '../support/stack';

const config = loadConfig();
const cluster = clusterConfig(config.home);
const README = '# fixture\n';
const RUNS = 6;
const artifacts = artifactStoreFor(config);
let harness: RegattaHarness;
let github: FakeGitHub;
let finished = 0;
const repoNames: Record<ClusterService, string[]> = { frontend: [], history: [], matching: [], worker: [] };

/** Each run holds for a few seconds, so the fault lands while runs are in flight, and stores a real patch. */
function patchingExecution() {
  const scripted = scriptedExecution(() => ({
    touchedFiles: ['README.md'],
    holdMs: 3_000,
    onFinish: () => finished++,
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

beforeAll(async () => {
  const unique = Math.random().toString(16).slice(2, 10);
  for (const service of ['history', 'matching'] as const)
    for (let i = 0; i < RUNS; i++) repoNames[service].push(`fixtures/fault-${service}-${unique}-${i}`);
  github = await startFakeGitHub([...repoNames.history, ...repoNames.matching]);
  const deps = controlDeps(config);
  harness = await startHarness({
    controlActivities: createControlActivities({
      ...deps,
      publish: { ...deps.publish!, forge: new GitHubForge({ apiUrl: github.apiUrl, token: github.token }) },
    }),
    executionActivities: patchingExecution(),
  });
});
afterAll(async () => {
  await harness?.shutdown();
  await github?.close();
  // Whatever a failed test left down comes back for the next suite.
  await ensureCluster(config.home);
});

async function campaign(service: ClusterService): Promise<CampaignSpecInput & { id: string; targets: Target[] }> {
  const targets: Target[] = [];
  for (const name of repoNames[service])
    targets.push(await fixtureRepo(name, { 'README.md': README }, { owner: 'storefront', tier: 'production' }));
  return {
    id: `fault-${service}-${harness.unique}`,
    title: 'Touch the README',
    targets,
    steps: [{ recipe: 'replace', files: ['README.md'], find: 'fixture', replace: 'fixture' }],
    verify: { commands: ['npm test'] },
    maxConcurrentRuns: 3,
    publishRate: { max: 100, windowMs: 1_000 },
  };
}

async function killAndRestart(service: ClusterService): Promise<void> {
  const pid = runningService(cluster.root, clusterServiceName(service))!.pid;
  process.kill(pid, 'SIGKILL');
  await eventually(
    async () => isPidAlive(pid),
    (alive) => !alive,
    10_000,
  );
  const started = Date.now();
  await ensureCluster(config.home);
  const restarted = runningService(cluster.root, clusterServiceName(service))!.pid;
  expect(restarted).not.toBe(pid);
  process.stderr.write(`[cluster] ${service} restarted in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
}

describe.each(['history', 'matching'] as const)('the %s service killed mid-campaign', (service) => {
  it('publishes every run once: one pull request per repository, no run lost', async () => {
    const spec = await campaign(service);
    const before = finished;
    await harness.client.startCampaign(spec);
    // Mid-campaign: the first runs have answered, the rest are in flight or queued.
    await eventually(
      async () => finished - before,
      (done) => done >= 1,
      120_000,
    );
    await killAndRestart(service);
    const result = await harness.client.campaignResult(spec.id);
    expect(result.counts).toEqual({ published: RUNS });
    for (const repo of repoNames[service]) expect(github.pulls.get(repo)).toHaveLength(1);
  }, 600_000);
});
