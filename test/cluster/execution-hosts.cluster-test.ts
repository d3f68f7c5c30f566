/**
 * Several execution hosts: two execution worker processes (src/workers/execution.ts, as an operator runs one per host)
 * that share nothing but the Temporal cluster and the S3 artifact store (versitygw): each has its own REGATTA_HOME
 * (workspaces, toolchain cache), its own Docker network for its sandboxes and its own egress proxy. A six-repository
 * campaign runs real sandboxes on both (clone from the local git server, a step, `npm test`); one host's worker is
 * SIGKILLed mid-run, its run moves to the other host once its lease lapses, and the control plane, which reads
 * patches only from S3, opens exactly one pull request per repository.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createControlActivities } from '../../activities/control';
import { S3ArtifactStore } from '../../src/artifacts';
import type { CampaignSpecInput, Target } from '../../src/contracts';
import { loadConfig, PROJECT_ROOT } from '../../src/config';
import { GitHubForge } from '../../src/forges/github';
import { dockerClient, MANAGED_LABEL, RUN_LABEL } from '../../src/sandbox/driver';
import { controlDeps } from '../../src/workers/control-deps';
import { readWorkerState } from '../../src/workers/worker-state';
import { eventually } from '../support/eventually';
import { startFakeGitHub, type FakeGitHub } from '../support/github-server';
import { startHarness, type RegattaHarness } from '../support/harness';
import { fixtureRepo, readStackInfo } from '../support/stack';

const RUNS = 6;
const STAMP = 'egress gateway';
const config = loadConfig();
const docker = dockerClient();
const store = readStackInfo().artifactStore;
const s3 = new S3ArtifactStore({
  bucket: store.bucket,
  region: store.region,
  endpoint: store.endpoint,
  forcePathStyle: true,
  credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
});

interface Host {
  name: string;
  home: string;
  network: string;
  process?: ChildProcess;
}

let harness: RegattaHarness;
let github: FakeGitHub;
let scratch: string;
const hosts: Host[] = [];
const repos: string[] = [];

/** The step sleeps a few seconds (so a kill lands mid-run), then writes the egress proxy's address its sandbox was given. */
const stampScript = `const proxy = new URL(process.env.HTTP_PROXY);
setTimeout(() => require('fs').writeFileSync('sandbox-network.txt', '${STAMP} ' + proxy.hostname + '\\n'), Number(process.argv[2]));
`;

/** The default policy, with registry_only for every run, so each sandbox sits on its host's egress network. */
function registryOnlyPolicy(): string {
  const bundle = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'policies', 'default.json'), 'utf8'));
  bundle.name = 'execution-hosts-test';
  bundle.defaults.network = 'registry_only';
  const file = path.join(scratch, 'policy.json');
  fs.writeFileSync(file, JSON.stringify(bundle));
  return file;
}

/** An execution host: its own home (seeded with Node.js builds, as a provisioned host image would be), network and S3 credentials. */
function startHost(host: Host): ChildProcess {
  fs.cpSync(path.join(config.home, 'toolchains'), path.join(host.home, 'toolchains'), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REGATTA_HOME: host.home,
    TEMPORAL_ADDRESS: config.temporal.address,
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    REGATTA_EXECUTION_QUEUE: harness.queues.execution,
    REGATTA_EXECUTION_SLOTS: '1',
    REGATTA_SANDBOX_NETWORK: host.network,
    REGATTA_SANDBOX_REGISTRY: readStackInfo().registryMirror.url,
    REGATTA_ARTIFACT_STORE: 's3',
    REGATTA_S3_BUCKET: store.bucket,
    REGATTA_S3_REGION: store.region,
    REGATTA_S3_ENDPOINT: store.endpoint,
    REGATTA_S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: store.accessKeyId,
    AWS_SECRET_ACCESS_KEY: store.secretAccessKey,
  };
  delete env.REGATTA_ARTIFACT_DIR;
  delete env.REGATTA_TOOLCHAIN_DIR;
  const log = fs.openSync(path.join(host.home, 'worker.log'), 'a');
  return spawn('node', ['--require', 'tsx/cjs', path.join(PROJECT_ROOT, 'src/workers/execution.ts')], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', log, log],
  });
}

async function gatewayOf(network: string): Promise<string> {
  const info = await docker.getNetwork(network).inspect();
  return info.IPAM?.Config?.[0]?.Gateway as string;
}

async function sandboxesOn(network: string): Promise<string[]> {
  const containers = await docker.listContainers({
    filters: { network: [network], label: [`${MANAGED_LABEL}=true`], status: ['running'] },
  });
  return containers.map((c) => c.Labels[RUN_LABEL]);
}

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-hosts-'));
  const unique = path.basename(scratch).slice('regatta-hosts-'.length).toLowerCase();
  for (let i = 0; i < RUNS; i++) repos.push(`fixtures/hosts-${unique}-${i}`);
  github = await startFakeGitHub(repos);
  const deps = controlDeps({ ...config, policyFile: registryOnlyPolicy() });
  harness = await startHarness({
    controlActivities: createControlActivities({
      ...deps,
      artifacts: s3,
      publish: {
        ...deps.publish!,
        artifacts: s3,
        forge: new GitHubForge({ apiUrl: github.apiUrl, token: github.token }),
      },
    }),
  });
  for (const name of ['host-a', 'host-b']) {
    const host: Host = {
      name,
      home: path.join(scratch, name),
      network: `regatta-egress-${harness.unique}-${name}`,
    };
    fs.mkdirSync(host.home, { recursive: true });
    host.process = startHost(host);
    hosts.push(host);
  }
  await eventually(
    async () => hosts.map((h) => readWorkerState(h.home, h.process!.pid!)?.state),
    (states) => states.every((s) => s === 'polling'),
    60_000,
  );
});

afterAll(async () => {
  for (const host of hosts) host.process?.kill('SIGKILL');
  await harness?.shutdown();
  await github?.close();
  s3.destroy();
  for (const host of hosts) {
    const left = await docker.listContainers({ all: true, filters: { network: [host.network] } }).catch(() => []);
    await Promise.allSettled(left.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    await docker
      .getNetwork(host.network)
      .remove()
      .catch(() => undefined);
  }
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

async function campaign(): Promise<CampaignSpecInput & { id: string; targets: Target[] }> {
  const targets: Target[] = [];
  for (const repo of repos)
    targets.push(
      await fixtureRepo(repo, { 'scripts/stamp.js': stampScript }, { owner: 'storefront', tier: 'production' }),
    );
  return {
    id: `hosts-${harness.unique}`,
    title: 'Record where the sandbox ran',
    targets,
    steps: [{ recipe: 'command', run: 'node scripts/stamp.js 4000' }],
    verify: { commands: ['npm test'] },
    maxConcurrentRuns: RUNS,
    publishRate: { max: 100, windowMs: 1_000 },
    leaseTimeoutMs: 10_000,
  };
}

it("spreads a campaign's runs over two hosts, moves a killed host's run to the other, and publishes every run once from S3", async () => {
  const spec = await campaign();
  const [hostA, hostB] = hosts;
  await harness.client.startCampaign(spec);

  // Host B has finished a run and is in the middle of its next one: that is when its worker dies.
  const seenOnB = new Set<string>();
  const [inFlightOnB] = await eventually(
    async () => {
      const running = await sandboxesOn(hostB.network);
      running.forEach((run) => seenOnB.add(run));
      return running;
    },
    (running) => seenOnB.size >= 2 && running.length > 0,
    240_000,
  );
  hostB.process!.kill('SIGKILL');

  const result = await harness.client.campaignResult(spec.id);
  expect(result.counts).toEqual({ published: RUNS });
  for (const repo of repos) expect(github.pulls.get(repo)).toHaveLength(1);

  const gateways = new Map([
    [await gatewayOf(hostA.network), hostA],
    [await gatewayOf(hostB.network), hostB],
  ]);
  const identities = new Map(hosts.map((h) => [`execution@${os.hostname()}/${h.process!.pid}`, h]));
  const tally = new Map(hosts.map((h) => [h.name, [] as string[]]));
  for (const run of result.runs) {
    const status = await harness.client.runStatus(run.runId);
    const patchRef = status.manifest!.artifacts.find((a) => a.type === 'patch')!;
    expect(patchRef.uri).toMatch(new RegExp(`^s3://${store.bucket}/`));
    const stamped = new RegExp(`^\\+${STAMP} (\\S+)$`, 'm').exec((await s3.get(patchRef.uri)).toString('utf8'));
    const byNetwork = gateways.get(stamped![1]);
    const memo = (await harness.client.temporal.workflow.getHandle(run.runId).describe()).memo;
    const byIdentity = identities.get(memo!.worker as string);
    // The worker that reported the run and the network its sandbox sat on name the same host.
    expect(byNetwork).toBeDefined();
    expect(byIdentity).toBe(byNetwork);
    tally.get(byNetwork!.name)!.push(`${run.repo}#${status.manifest!.attempt}`);
  }
  const moved = await harness.client.runStatus(inFlightOnB);
  process.stderr.write(
    `[hosts] runs per host: ${[...tally].map(([name, runs]) => `${name} ${runs.length} (${runs.join(', ')})`).join('; ')}; ` +
      `${moved.repo} was in flight on host-b when it was killed\n`,
  );
  expect(tally.get('host-a')!.length).toBeGreaterThanOrEqual(1);
  expect(tally.get('host-b')!.length).toBeGreaterThanOrEqual(1);
  expect(tally.get('host-a')).toContain(`${moved.repo}#${moved.manifest!.attempt}`);
  expect(moved.manifest!.attempt).toBeGreaterThanOrEqual(2);
  // Each host worked in its own home, and neither kept evidence on a disk of its own.
  for (const host of hosts) {
    expect(fs.existsSync(path.join(host.home, 'workspaces'))).toBe(true);
    expect(fs.existsSync(path.join(host.home, 'artifacts'))).toBe(false);
  }
}, 600_000);
