/**
 * Fleet throughput with real sandboxes, on the running dev stack:
 *   node --require tsx/cjs bench/fleet.ts [repositories=50] [windows=2,4,8] [ecosystems=npm]
 * Makes that many small repositories per ecosystem on the local git server (npm: bench/fleet-repos.ts; python, go,
 * maven: the fleet's services of those ecosystems, src/dev/ecosystem-services.ts), then for each window and ecosystem
 * runs one real campaign over them: clone, the ecosystem's upgrade and a replace step (npm: the replace alone), its
 * install and test commands in the sandbox, publishing to the local forge.
 * Workers run in this process, as in tests, so the window alone sets how many sandboxes run at once.
 * Prints one markdown row per window: wall time, repositories per hour, the median and 95th percentile run time (a
 * run's first event to its last), and the share of all run time spent in each phase: the execution's own phase
 * timings, publishing from the execution's end to the run's `published` event, and the rest (policy, queueing, the
 * workspace's set-up, activity round trips) as other. Then, per ecosystem, the median sandbox start, install (the
 * verify commands that fetch dependencies), test (the test command) and publishing time of its runs.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { z } from 'zod';
import { createControlActivities } from '../activities/control';
import type {
  ExecutionResult,
  ExecutionSpec,
  PhaseDurations,
  RunEvent,
  Step,
  Target,
  VerificationReport,
} from '../src/contracts';
import { connectTemporalClient } from '../src/client/connection';
import { loadConfig } from '../src/config';
import { goServiceFiles, mavenServiceFiles, pythonServiceFiles } from '../src/dev/ecosystem-services';
import { createRepo } from '../src/dev/fleet';
import { pythonMirrorUrl } from '../src/dev/python-mirror';
import { readStackInfo } from '../src/dev/stack';
import { runWorkflowId } from '../src/temporal/ids';
import { controlDeps } from '../src/workers/control-deps';
import { realExecutionActivities, startHarness, type RegattaHarness } from '../test/support/harness';
import { BENCH_RENAME, createBenchRepos } from './fleet-repos';

const repositories = Number(process.argv[2] ?? 50);
const windows = (process.argv[3] ?? '2,4,8').split(',').map(Number);
if (!Number.isInteger(repositories) || repositories < 1 || !windows.every((w) => Number.isInteger(w) && w > 0)) {
  throw new Error(
    `usage: bench/fleet.ts [repositories] [windows] [ecosystems]; got "${process.argv[2]}", "${process.argv[3]}": expected a positive integer and a comma-separated list of them, e.g. 50 2,4,8`,
  );
}

/** Per ecosystem: its repositories' files, the campaign's steps, and its verify commands split into install and test. */
interface BenchEcosystem {
  files?: (name: string) => Record<string, string>;
  steps: z.input<typeof Step>[];
  install: string[];
  test: string[];
}

const ECOSYSTEMS: Record<string, BenchEcosystem> = {
  npm: {
    steps: [{ recipe: 'replace', ...BENCH_RENAME, files: [...BENCH_RENAME.files] }],
    install: [],
    test: ['npm test'],
  },
  python: {
    files: () => pythonServiceFiles('2.13.0'),
    steps: [
      { recipe: 'python-upgrade', package: 'semver', version: '3.0.4' },
      {
        recipe: 'replace',
        name: 'semver 3 renamed isvalid',
        files: ['pricing/**/*.py'],
        find: '.isvalid(',
        replace: '.is_valid(',
      },
    ],
    install: ['uv venv --clear /tmp/venv', 'uv pip install --python /tmp/venv -r requirements.txt pytest'],
    test: ['uv run --python /tmp/venv --no-project python -m pytest --junitxml=test-results/junit.xml'],
  },
  go: {
    files: () => goServiceFiles('v1.4.0'),
    steps: [
      { recipe: 'go-upgrade', module: 'github.com/google/uuid', version: 'v1.5.0' },
      {
        recipe: 'replace',
        name: 'uuid v1.5.0 declares Validate',
        files: ['**/*.go'],
        find: 'Validate(',
        replace: 'ValidateID(',
      },
    ],
    install: ['go mod download'],
    test: ['go test -json ./...'],
  },
  maven: {
    files: () => mavenServiceFiles('3.17.0'),
    steps: [
      { recipe: 'maven-upgrade', dependency: 'org.apache.commons:commons-lang3', version: '3.18.0' },
      {
        recipe: 'replace',
        name: 'commons-lang3 3.18.0 declares Strings',
        files: ['src/**/*.java'],
        find: 'import com.acme.text.*;',
        replace: 'import com.acme.text.Strings;',
      },
    ],
    // The default policy allows no Maven command that only fetches: `mvn -B test` downloads and tests in one.
    install: [],
    test: ['mvn -B test'],
  },
};

const ecosystems = (process.argv[4] ?? 'npm').split(',').map((e) => e.trim());
const unknown = ecosystems.filter((e) => !(e in ECOSYSTEMS));
if (unknown.length > 0)
  throw new Error(
    `usage: bench/fleet.ts [repositories] [windows] [ecosystems]; got ecosystems "${process.argv[4]}": expected a comma-separated list of ${Object.keys(ECOSYSTEMS).join(', ')}`,
  );

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
  verification: VerificationReport;
}

interface RunTiming {
  ms: number;
  phases: Record<Phase, number>;
  /** The verify commands that install dependencies, and those that test, on the changed tree. */
  installMs: number;
  testMs: number;
}

interface WindowResult {
  ecosystem: string;
  window: number;
  wallMs: number;
  counts: Record<string, number>;
  runs: RunTiming[];
  /** Each distinct failure of the window's runs, so a row of failed runs says why. */
  failures: string[];
}

/** From the end of the run's execution to its change request; 0 for a run that published nothing. */
function publishingMs(events: readonly RunEvent[], execution: ExecutionTiming | undefined): number {
  const published = events.find((e) => e.to === 'published');
  return published && execution ? Math.max(0, Date.parse(published.at) - Date.parse(execution.finishedAt)) : 0;
}

function runTiming(
  events: readonly RunEvent[],
  execution: ExecutionTiming | undefined,
  ecosystem: BenchEcosystem,
): RunTiming {
  const times = events.map((e) => Date.parse(e.at));
  const phases = Object.fromEntries(
    PHASES.map(([phase, key]) => [phase, key ? (execution?.durations?.[key] ?? 0) : publishingMs(events, execution)]),
  ) as Record<Phase, number>;
  const commandMs = (commands: string[]) =>
    (execution?.verification.commands ?? [])
      .filter((c) => commands.includes(c.command))
      .reduce((sum, c) => sum + c.durationMs, 0);
  return {
    ms: Math.max(...times) - Math.min(...times),
    phases,
    installMs: commandMs(ecosystem.install),
    testMs: commandMs(ecosystem.test),
  };
}

async function runWindow(
  harness: RegattaHarness,
  executions: Map<string, ExecutionTiming>,
  targets: Target[],
  window: number,
  name: string,
): Promise<WindowResult> {
  const ecosystem = ECOSYSTEMS[name];
  const id = `bench-fleet-${harness.unique}-${name}-w${window}`;
  const started = Date.now();
  await harness.client.startCampaign({
    id,
    title: `Fleet benchmark, ${name}, window ${window}`,
    targets,
    // An upgrade reaches its registry (the policy's registry_only profile); npm's rename needs no network.
    ...(ecosystem.files ? { taskType: 'dependency_upgrade' as const } : {}),
    steps: ecosystem.steps,
    verify: { commands: [...ecosystem.install, ...ecosystem.test] },
    maxConcurrentRuns: window,
    // The benchmark measures the runs, not the default publish rate limit or change tracking after them.
    publishRate: { max: targets.length, windowMs: 1000 },
    tracking: { pollMs: 60_000, forMs: 0 },
  });
  const result = await harness.client.campaignResult(id);
  const wallMs = Date.now() - started;
  const runs: RunTiming[] = [];
  const failures = new Set<string>();
  for (const target of targets) {
    const runId = runWorkflowId(id, target.repo);
    const status = await harness.client.runStatus(runId);
    runs.push(runTiming(status.events, executions.get(runId), ecosystem));
    if (status.failure) failures.add(`${status.failure.kind}: ${status.failure.message.slice(0, 300)}`);
  }
  return { ecosystem: name, window, wallMs, counts: result.counts, runs, failures: [...failures] };
}

/** `count` repositories of one ecosystem on the stack's git server. */
async function createEcosystemRepos(prefix: string, name: string, count: number): Promise<Target[]> {
  const files = ECOSYSTEMS[name].files;
  if (!files) return createBenchRepos(prefix, count);
  const stack = readStackInfo();
  const targets: Target[] = [];
  for (let i = 0; i < count; i++) {
    const repo = `${prefix}/${name}-${String(i).padStart(3, '0')}`;
    await createRepo(stack.fleetRoot, repo, files(repo), { branch: 'main' });
    targets.push({ repo, url: `${stack.gitBaseUrl}/${repo}.git`, ref: 'main', owner: 'bench' });
  }
  return targets;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function tableHeader(): string {
  const columns = [
    'ecosystem',
    'window',
    'runs',
    'wall',
    'repos/hour',
    'median run',
    'p95 run',
    ...PHASES.map(([p]) => p),
    'other',
  ];
  return `| ${columns.join(' | ')} |\n|${' --- |'.repeat(columns.length)}`;
}

function tableRow({ ecosystem, window, wallMs, counts, runs }: WindowResult): string {
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
    ecosystem,
    window,
    outcome,
    seconds(wallMs),
    perHour,
    seconds(percentile(times, 50)),
    seconds(percentile(times, 95)),
  ];
  return `| ${[...cells, ...[...shares, other].map(percent)].join(' | ')} |`;
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

function ecosystemHeader(): string {
  const columns = ['ecosystem', 'window', 'sandbox start', 'install', 'test', 'publish'];
  return `| ${columns.join(' | ')} |\n|${' --- |'.repeat(columns.length)}`;
}

/** Medians over the ecosystem's runs in one window. */
function ecosystemRow({ ecosystem, window, runs }: WindowResult): string {
  const cells = [
    median(runs.map((r) => r.phases['sandbox start'])),
    median(runs.map((r) => r.installMs)),
    median(runs.map((r) => r.testMs)),
    median(runs.map((r) => r.phases.publishing)),
  ].map(seconds);
  return `| ${[ecosystem, window, ...cells].join(' | ')} |`;
}

async function main(): Promise<void> {
  // Before the harness installs its own: the SDK's warnings (an execution worker polls no workflows) are not results.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  // Sandboxes install Python packages from the stack's index mirror, as the dev stack's execution worker does.
  process.env.REGATTA_PYTHON_INDEX ??= readStackInfo().pythonMirror?.url ?? pythonMirrorUrl();
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
        executions.set(spec.runId, {
          durations: result.durations,
          finishedAt: result.finishedAt,
          verification: result.verification,
        });
        return result;
      },
    },
  });
  // The governor runs on the control queue, which the harness names when it starts.
  governor.taskQueue = harness.queues.control;
  try {
    const fleets = new Map<string, Target[]>();
    for (const name of ecosystems)
      fleets.set(name, await createEcosystemRepos(`fleet-${harness.unique}`, name, repositories));
    console.log(
      `${repositories} repositories per ecosystem (${ecosystems.join(', ')}), windows ${windows.join(', ')}, workers in this process`,
    );
    const results: WindowResult[] = [];
    console.log(tableHeader());
    for (const window of windows)
      for (const name of ecosystems) {
        const result = await runWindow(harness, executions, fleets.get(name)!, window, name);
        results.push(result);
        console.log(tableRow(result));
        for (const failure of result.failures) console.error(`  ${name}, window ${window}: ${failure}`);
      }
    console.log(`\nper ecosystem, medians over its runs\n${ecosystemHeader()}`);
    for (const result of results) console.log(ecosystemRow(result));
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
