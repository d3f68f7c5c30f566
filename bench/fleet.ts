/**
 * Fleet throughput with real sandboxes, on the running dev stack:
 *   node --require tsx/cjs bench/fleet.ts [repositories=50] [windows=2,4,8]
 * Makes that many small Node repositories on the local git server (bench/fleet-repos.ts), then for each window runs
 * one real campaign over all of them: clone, a replace step, `npm test` in the sandbox, publishing to the local forge.
 * Workers run in this process, as in tests, so the window alone sets how many sandboxes run at once.
 * Prints one markdown row per window: wall time, repositories per hour, the median and 95th percentile run time (a
 * run's first event to its last), and the share of all run time spent in each phase: the execution's own phase
 * timings, publishing from the execution's end to the run's `published` event, and the rest (policy, queueing, the
 * workspace's set-up, activity round trips) as other.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createControlActivities } from '../activities/control';
import type { ExecutionResult, ExecutionSpec, PhaseDurations, RunEvent, Target } from '../src/contracts';
import { connectTemporalClient } from '../src/client/connection';
import { loadConfig } from '../src/config';
import { runWorkflowId } from '../src/temporal/ids';
import { controlDeps } from '../src/workers/control-deps';
import { realExecutionActivities, startHarness, type RegattaHarness } from '../test/support/harness';
import { BENCH_RENAME, createBenchRepos } from './fleet-repos';

const repositories = Number(process.argv[2] ?? 50);
const windows = (process.argv[3] ?? '2,4,8').split(',').map(Number);
if (!Number.isInteger(repositories) || repositories < 1 || !windows.every((w) => Number.isInteger(w) && w > 0)) {
  throw new Error(
    `usage: bench/fleet.ts [repositories] [windows]; got "${process.argv[2]}", "${process.argv[3]}": expected a positive integer and a comma-separated list of them, e.g. 50 2,4,8`,
  );
}

/** The columns of the table, each with the execution phase timing it reads (publishing comes from the run's events). */
const PHASES = [
  ['clone', 'cloneMs'],
  ['toolchain', 'toolchainMs'],
  ['sandbox start', 'sandboxStartMs'],
  ['baseline', 'baselineMs'],
  ['steps', 'stepsMs'],
  ['verification', 'verifyMs'],
  ['evidence', 'evidenceMs'],
  ['publishing', undefined],
] as const satisfies readonly (readonly [string, keyof PhaseDurations | undefined])[];
type Phase = (typeof PHASES)[number][0];

/** What the benchmark keeps of each execution as it hands its result back. */
interface ExecutionTiming {
  durations?: PhaseDurations;
  finishedAt: string;
}

interface RunTiming {
  ms: number;
  phases: Record<Phase, number>;
}

interface WindowResult {
  window: number;
  wallMs: number;
  counts: Record<string, number>;
  runs: RunTiming[];
}

/** From the end of the run's execution to its change request; 0 for a run that published nothing. */
function publishingMs(events: readonly RunEvent[], execution: ExecutionTiming | undefined): number {
  const published = events.find((e) => e.to === 'published');
  return published && execution ? Math.max(0, Date.parse(published.at) - Date.parse(execution.finishedAt)) : 0;
}

function runTiming(events: readonly RunEvent[], execution: ExecutionTiming | undefined): RunTiming {
  const times = events.map((e) => Date.parse(e.at));
  const phases = Object.fromEntries(
    PHASES.map(([phase, key]) => [phase, key ? (execution?.durations?.[key] ?? 0) : publishingMs(events, execution)]),
  ) as Record<Phase, number>;
  return { ms: Math.max(...times) - Math.min(...times), phases };
}

async function runWindow(
  harness: RegattaHarness,
  executions: Map<string, ExecutionTiming>,
  targets: Target[],
  window: number,
): Promise<WindowResult> {
  const id = `bench-fleet-${harness.unique}-w${window}`;
  const started = Date.now();
  await harness.client.startCampaign({
    id,
    title: `Fleet benchmark, window ${window}`,
    targets,
    steps: [{ recipe: 'replace', ...BENCH_RENAME, files: [...BENCH_RENAME.files] }],
    verify: { commands: ['npm test'] },
    maxConcurrentRuns: window,
    // The benchmark measures the runs, not the default publish rate limit or change tracking after them.
    publishRate: { max: targets.length, windowMs: 1000 },
    tracking: { pollMs: 60_000, forMs: 0 },
  });
  const result = await harness.client.campaignResult(id);
  const wallMs = Date.now() - started;
  const runs: RunTiming[] = [];
  for (const target of targets) {
    const runId = runWorkflowId(id, target.repo);
    const status = await harness.client.runStatus(runId);
    runs.push(runTiming(status.events, executions.get(runId)));
  }
  return { window, wallMs, counts: result.counts, runs };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function tableHeader(): string {
  const columns = ['window', 'runs', 'wall', 'repos/hour', 'median run', 'p95 run', ...PHASES.map(([p]) => p), 'other'];
  return `| ${columns.join(' | ')} |\n|${' --- |'.repeat(columns.length)}`;
}

function tableRow({ window, wallMs, counts, runs }: WindowResult): string {
  const times = runs.map((r) => r.ms).sort((a, b) => a - b);
  const total = times.reduce((a, b) => a + b, 0);
  const shares = PHASES.map(([phase]) => runs.reduce((sum, r) => sum + r.phases[phase], 0) / total);
  const other = 1 - shares.reduce((a, b) => a + b, 0);
  const percent = (share: number) => `${(share * 100).toFixed(0)}%`;
  const outcome = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`)
    .join(', ');
  const perHour = Math.round((runs.length / wallMs) * 3600_000);
  const cells = [
    window,
    outcome,
    seconds(wallMs),
    perHour,
    seconds(percentile(times, 50)),
    seconds(percentile(times, 95)),
  ];
  return `| ${[...cells, ...[...shares, other].map(percent)].join(' | ')} |`;
}

async function main(): Promise<void> {
  // Before the harness installs its own: the SDK's warnings (an execution worker polls no workflows) are not results.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const execution = realExecutionActivities();
  const executions = new Map<string, ExecutionTiming>();
  const config = loadConfig();
  // The production publish path, through the fleet-wide governor, set wide enough that it never holds a run back.
  const governor = {
    client: await connectTemporalClient(config.temporal),
    taskQueue: '',
    max: repositories,
    windowMs: 1000,
  };
  const harness = await startHarness({
    controlActivities: createControlActivities({ ...controlDeps(config), governor }),
    executionActivities: {
      ...execution,
      async executeRun(spec: ExecutionSpec): Promise<ExecutionResult> {
        const result = await execution.executeRun(spec);
        executions.set(spec.runId, { durations: result.durations, finishedAt: result.finishedAt });
        return result;
      },
    },
  });
  // The governor runs on the control queue, which the harness names when it starts.
  governor.taskQueue = harness.queues.control;
  try {
    const targets = await createBenchRepos(`fleet-${harness.unique}`, repositories);
    console.log(`${repositories} repositories, windows ${windows.join(', ')}, workers in this process`);
    console.log(tableHeader());
    for (const window of windows) console.log(tableRow(await runWindow(harness, executions, targets, window)));
  } finally {
    await harness.shutdown();
    await governor.client.connection.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
