/**
 * A real campaign driven through one fault: fresh fixture repositories on the stack's git server, real sandboxes on
 * the shared Docker engine, the local forge publishing, and control and execution workers in their own processes so a
 * test can SIGKILL them. `expectRecovered` is what every fault test asserts against the same campaign without a fault.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { RegattaClient } from '../../src/client';
import { connectTemporalClient } from '../../src/client/connection';
import { loadConfig } from '../../src/config';
import { SETTLED_RUN_STATES, type CampaignResult, type CampaignSpecInput, type Target } from '../../src/contracts';
import { localForgeRoot } from '../../src/forges';
import { LocalForge } from '../../src/forges/local';
import { dockerClient, MANAGED_LABEL, RUN_LABEL } from '../../src/sandbox/driver';
import { runWorkflowId } from '../../src/temporal/ids';
import { eventually } from '../support/eventually';
import { fixtureRepo, readStackInfo } from '../support/stack';
import { WAIT_SCRIPT, waitCommand } from '../support/step-scripts';

const root = path.resolve(__dirname, '../..');
export const REPOS_PER_CAMPAIGN = 4;
/** Each run's sandbox works this long, so a fault lands while every run is executing. */
const STEP_SECONDS = 10;

export interface TemporalEndpoint {
  address: string;
  uiUrl: string;
}

/** A worker process of one kind, on the test's own task queues, that the test can kill and start again. */
export class WorkerProcess {
  private child: ChildProcess;

  constructor(
    readonly kind: 'control' | 'execution',
    private readonly env: NodeJS.ProcessEnv,
    private readonly logFile: string,
  ) {
    this.child = this.spawn();
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }

  restart(): void {
    this.child = this.spawn();
  }

  private spawn(): ChildProcess {
    const log = fs.openSync(this.logFile, 'a');
    const child = spawn('node', ['--require', 'tsx/cjs', path.join(root, `src/workers/${this.kind}.ts`)], {
      cwd: root,
      env: this.env,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    return child;
  }
}

export interface FaultWorkers {
  control: WorkerProcess;
  execution: WorkerProcess;
  client: RegattaClient;
  unique: string;
  logDir: string;
  stop(): Promise<void>;
}

/** One control and one execution worker process on task queues of their own, and a client for them. */
export async function startFaultWorkers(temporal: TemporalEndpoint = loadConfig().temporal): Promise<FaultWorkers> {
  const unique = randomUUID().slice(0, 8);
  const queues = { control: `fault-control-${unique}`, execution: `fault-execution-${unique}` };
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_UI_URL: temporal.uiUrl,
    REGATTA_CONTROL_QUEUE: queues.control,
    REGATTA_EXECUTION_QUEUE: queues.execution,
    REGATTA_SANDBOX_REGISTRY: readStackInfo().packageRegistry.url,
    // Every run executes at once, so the fault lands on all of them whatever this host's default slots are.
    REGATTA_EXECUTION_SLOTS: String(REPOS_PER_CAMPAIGN),
  };
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), `fault-workers-${unique}-`));
  const control = new WorkerProcess('control', env, path.join(logDir, 'control.log'));
  const execution = new WorkerProcess('execution', env, path.join(logDir, 'execution.log'));
  const config = loadConfig({ ...process.env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_UI_URL: temporal.uiUrl });
  const client = new RegattaClient(await connectTemporalClient(config.temporal), {
    queues,
    uiUrl: temporal.uiUrl,
    namespace: config.temporal.namespace,
  });
  return {
    control,
    execution,
    client,
    unique,
    logDir,
    stop: async () => {
      await Promise.all([control.kill(), execution.kill()]);
      await client.close();
    },
  };
}

export interface FaultTimings {
  /** When the component was killed and when it was started again (epoch ms). */
  killedAt: number;
  restartedAt: number;
}

export interface CampaignOutcome {
  spec: CampaignSpecInput & { id: string };
  targets: Target[];
  result: CampaignResult;
  startedAt: number;
  finishedAt: number;
  /** When the campaign first answered a query after the restart. */
  answeringAt?: number;
  fault?: FaultTimings;
}

/** Runs one campaign of REPOS_PER_CAMPAIGN fresh repositories to its end, with `fault` injected once it is underway. */
export async function driveCampaign(
  workers: FaultWorkers,
  label: string,
  fault?: (campaign: RunningCampaign) => Promise<FaultTimings>,
): Promise<CampaignOutcome> {
  const id = `fault-${label}-${workers.unique}`;
  const targets = await Promise.all(
    Array.from({ length: REPOS_PER_CAMPAIGN }, (_, i) =>
      fixtureRepo(`fixtures/${id}-${i}`, WAIT_SCRIPT, { owner: 'storefront', tier: 'production' }),
    ),
  );
  const spec = {
    id,
    title: 'Rename oldName to newName, slowly',
    targets,
    steps: [
      { recipe: 'replace' as const, files: ['src/**/*.js', 'test.js'], find: 'oldName', replace: 'newName' },
      { recipe: 'command' as const, run: waitCommand(STEP_SECONDS * 1000) },
    ],
    verify: { commands: ['npm test'] },
    maxConcurrentRuns: REPOS_PER_CAMPAIGN,
    leaseTimeoutMs: 10_000,
    publishRetryWindowMs: 60_000,
  };
  const startedAt = Date.now();
  await workers.client.startCampaign(spec);
  const running = new RunningCampaign(workers.client, spec.id, targets);
  const timings = fault ? await fault(running) : undefined;
  const answeringAt = timings ? await running.answeringAgain() : undefined;
  const result = await workers.client.campaignResult(spec.id);
  return { spec, targets, result, startedAt, finishedAt: Date.now(), answeringAt, fault: timings };
}

/** A campaign underway, as a fault sees it. */
export class RunningCampaign {
  constructor(
    private readonly client: RegattaClient,
    readonly id: string,
    readonly targets: Target[],
  ) {}

  /** Resolves once every run's sandbox is running: the moment a fault hurts most. */
  async everyRunExecuting(): Promise<void> {
    await eventually(
      () => sandboxesOf(this.id),
      (containers) =>
        new Set(containers.filter((c) => c.State === 'running').map((c) => c.Labels[RUN_LABEL])).size ===
        this.targets.length,
      180_000,
    );
  }

  /** The first moment the campaign answers a progress query again (it needs the server and a control worker). */
  async answeringAgain(): Promise<number> {
    await eventually(
      () =>
        withTimeout(this.client.campaignProgress(this.id), 5_000).then(
          () => true,
          () => false,
        ),
      Boolean,
      300_000,
    );
    return Date.now();
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)),
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function sandboxesOf(campaignId: string) {
  const containers = await dockerClient().listContainers({ all: true, filters: { label: [`${MANAGED_LABEL}=true`] } });
  return containers.filter((c) => c.Labels[RUN_LABEL]?.startsWith(`run/${campaignId}/`));
}

/** The campaign's result with repository names made comparable across campaigns: index and state per run. */
export function comparableResult(outcome: CampaignOutcome) {
  const index = (repo: string) => outcome.targets.findIndex((t) => t.repo === repo);
  return {
    counts: outcome.result.counts,
    runs: outcome.result.runs
      .map((r) => ({
        target: index(r.repo),
        state: r.state,
        failure: r.failure?.kind,
        published: r.changeRequestUrl !== undefined,
      }))
      .sort((a, b) => a.target - b.target),
    stoppedReason: outcome.result.stoppedReason,
  };
}

/**
 * What every fault test asserts: no run lost (each reached a settled state the run itself reports, with its reason
 * when it failed), no duplicate change request or branch, no sandbox container of the campaign left, and the same
 * result as the campaign without the fault.
 */
export async function expectRecovered(
  outcome: CampaignOutcome,
  faultFree: CampaignOutcome,
  client: RegattaClient,
): Promise<void> {
  expect(outcome.result.runs).toHaveLength(REPOS_PER_CAMPAIGN);
  for (const target of outcome.targets) {
    const run = await client.runStatus(runWorkflowId(outcome.spec.id, target.repo));
    expect({
      repo: target.repo,
      settled: SETTLED_RUN_STATES.includes(run.state),
      explained: run.state !== 'failed' || run.failure !== undefined,
    }).toEqual({ repo: target.repo, settled: true, explained: true });
  }
  expect(comparableResult(outcome)).toEqual(comparableResult(faultFree));

  const forge = new LocalForge(localForgeRoot(loadConfig().home));
  for (const target of outcome.targets) {
    const published = outcome.result.runs.find((r) => r.repo === target.repo)?.state === 'published';
    expect({
      repo: target.repo,
      changeRequests: (await forge.listChangeRequests({ repo: target.repo })).length,
    }).toEqual({ repo: target.repo, changeRequests: published ? 1 : 0 });
    const branches = (await git.listServerRefs({ http, url: target.url, prefix: 'refs/heads/' })).map((r) =>
      r.ref.replace('refs/heads/', ''),
    );
    expect(branches.sort()).toEqual(published ? ['main', `regatta/${outcome.spec.id}`] : ['main']);
  }
  expect(
    await eventually(
      () => sandboxesOf(outcome.spec.id),
      (left) => left.length === 0,
      120_000,
    ),
  ).toEqual([]);
}

/** The figures a fault test prints: the outcome, and how long the campaign took to answer and to finish after the fault. */
export function reportRecovery(fault: string, outcome: CampaignOutcome, faultFree: CampaignOutcome): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const timings = outcome.fault!;
  const counts = Object.entries(outcome.result.counts)
    .map(([state, n]) => `${state}=${n}`)
    .join(' ');
  const line =
    `[fault] ${fault}: outcome ${counts} (fault-free: ${Object.entries(faultFree.result.counts)
      .map(([state, n]) => `${state}=${n}`)
      .join(' ')}); ` +
    `down ${s(timings.restartedAt - timings.killedAt)}, answering again ${s(outcome.answeringAt! - timings.restartedAt)} after the restart, ` +
    `finished ${s(outcome.finishedAt - timings.killedAt)} after the kill; campaign took ${s(outcome.finishedAt - outcome.startedAt)} (fault-free ${s(faultFree.finishedAt - faultFree.startedAt)})`;
  process.stdout.write(`${line}\n`);
  return line;
}
