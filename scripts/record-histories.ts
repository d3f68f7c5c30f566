/**
 * Records real histories of the control plane's main paths on the local stack, for the replay test
 * (test/replay/recorded-histories.test.ts). Runs and campaigns live for weeks, so every history recorded by a release
 * must replay on the code that follows it. Each path runs to the point it stands for; every workflow it names is saved
 * as binary protobuf in `<out>/<label>/<name>.binpb`, with an entry in `<out>/recorded.json`.
 *
 *   node --require tsx/cjs scripts/record-histories.ts --label v2026.12.3 --workflows /tmp/released/workflows
 *
 * `--workflows` bundles another checkout's workflows in memory (the shared test bundle belongs to this checkout);
 * `--only published,approval` records some paths again. Needs the stack of `regatta dev up`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ApplicationFailure } from '@temporalio/activity';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';
import { createControlActivities } from '../activities/control';
import { validateCampaignSpec, type CampaignSpecInput, type RunState } from '../src/client';
import { connectTemporalClient } from '../src/client/connection';
import type { ExecutionSpec, Target } from '../src/contracts';
import { loadConfig } from '../src/config';
import { FLEET, serviceFiles } from '../src/dev/fleet';
import {
  campaignWorkflowId,
  changeTrackerWorkflowId,
  publishGovernorWorkflowId,
  runWorkflowId,
} from '../src/temporal/ids';
import { CampaignIdKey, TaskTypeKey } from '../src/temporal/search-attributes';
import { controlDeps } from '../src/workers/control-deps';
import { eventually } from '../test/support/eventually';
import { realExecutionActivities, startHarness, type RegattaHarness } from '../test/support/harness';
import { scriptedExecution, type ScriptedOutcome } from '../test/support/scripted-execution';
import { fixtureRepo, readStackInfo } from '../test/support/stack';
import type { CampaignWorkflow } from '../workflows/campaign';

/** One entry of recorded.json: what the replay test needs to replay a file. */
export interface RecordedHistory {
  label: string;
  name: string;
  workflowId: string;
  workflowType: string;
  /** Relative to recorded.json. */
  file: string;
  recordedAt: string;
  events: number;
}

/** A workflow execution a path wants kept; `runId` picks one execution of a chain (the latest when absent). */
interface Recording {
  name: string;
  workflowId: string;
  runId?: string;
  /** Kept while still running (a tracker, a governor); any other is saved once it has closed. */
  running?: true;
}

interface Recorder {
  harness: RegattaHarness;
  /** Campaigns whose runs the scripted execution plane answers, by campaign id. */
  scripts: Map<string, (repo: string, spec: ExecutionSpec) => ScriptedOutcome>;
  forge: { down: boolean };
  /** The fleet-wide publish governor of this recording's control queue, for the local forge's host. */
  governorId: string;
  /** Undone once the path's histories are saved: trackers terminated, schedules deleted. */
  cleanup: (() => Promise<unknown>)[];
}

const LARGE_FIXTURE_BYTES = 300 * 1024;
const APPROVAL_WAIT_MS = 5 * 60_000;

const PATHS: Record<string, (r: Recorder) => Promise<Recording[]>> = {
  published: recordPublished,
  approval: recordApproval,
  'scope-request': recordScopeRequest,
  'publish-retry': recordPublishRetry,
  'continued-as-new': recordContinuedAsNew,
  'schedule-firing': recordScheduleFiring,
  'publish-governor': recordPublishGovernor,
};

/** A 1-target campaign on a real repository, published by the local forge; its tracker has polled once. */
async function recordPublished(r: Recorder): Promise<Recording[]> {
  const target = await service(r, 'published');
  const spec = renameCampaign(r, 'published', [target]);
  await r.harness.client.startCampaign(spec);
  await expectRunState(r, spec.id!, 'published');
  const trackerId = changeTrackerWorkflowId(spec.id!);
  // A tracker polls for two weeks; once it has polled and gone to sleep, its history so far is what replays.
  await eventually(
    () => r.harness.client.temporal.workflow.getHandle(trackerId).fetchHistory(),
    (h) => (h.events ?? []).some((e) => e.timerStartedEventAttributes),
    60_000,
  );
  r.cleanup.push(() => r.harness.client.temporal.workflow.getHandle(trackerId).terminate('recorded'));
  return [
    { name: 'published-campaign', workflowId: campaignWorkflowId(spec.id!) },
    { name: 'published-run', workflowId: runWorkflowId(spec.id!, target.repo) },
    { name: 'published-tracker', workflowId: trackerId, running: true },
  ];
}

/** A production-critical repository: the run waits for a human, is approved through the client, and publishes. */
async function recordApproval(r: Recorder): Promise<Recording[]> {
  const target = await service(r, 'approval', 'production-critical');
  const spec = renameCampaign(r, 'approval', [target]);
  await r.harness.client.startCampaign(spec);
  const runId = runWorkflowId(spec.id!, target.repo);
  await awaitingApproval(r, spec.id!);
  await r.harness.client.approveRun(spec.id!, runId, 'alice', 'recorded for the replay test');
  await expectRunState(r, spec.id!, 'published');
  stopTracker(r, spec.id!);
  return [
    { name: 'approval-run', workflowId: runId },
    { name: 'approval-campaign', workflowId: campaignWorkflowId(spec.id!) },
  ];
}

/** A preview run whose agent asks for more scope (a CI workflow file); approved through the client. */
async function recordScopeRequest(r: Recorder): Promise<Recording[]> {
  const spec = scriptedCampaign(r, 'scope-request', fakeFleet('scope', 1));
  // Releases since 2026.12.4 execute the run again with the approved scope; that execution finishes the change.
  r.scripts.set(spec.id!, (_repo, executed) =>
    executed.approvedScope
      ? { commands: ['sed -i s/old/new/ README.md'], touchedFiles: ['README.md', '.github/workflows/ci.yml'] }
      : {
          commands: ['sed -i s/old/new/ README.md'],
          scopeRequest: { paths: ['.github/workflows/ci.yml'], reason: 'the CI workflow pins the old name too' },
        },
  );
  await r.harness.client.startCampaign(spec);
  const runId = runWorkflowId(spec.id!, spec.targets[0].repo);
  await awaitingApproval(r, spec.id!);
  await r.harness.client.approveRun(spec.id!, runId, 'alice', 'the CI file may change');
  await expectRunState(r, spec.id!, 'changed');
  return [
    { name: 'scope-request-run', workflowId: runId },
    { name: 'scope-request-campaign', workflowId: campaignWorkflowId(spec.id!) },
  ];
}

/** The forge fails until fixed: the run ends publish_failed, the campaign closes, a retry by update publishes. */
async function recordPublishRetry(r: Recorder): Promise<Recording[]> {
  const target = await service(r, 'retry');
  const spec = renameCampaign(r, 'publish-retry', [target]);
  const runId = runWorkflowId(spec.id!, target.repo);
  r.forge.down = true;
  try {
    await r.harness.client.startCampaign(spec);
    await expectRunState(r, spec.id!, 'publish_failed');
  } finally {
    r.forge.down = false;
  }
  const retried = await r.harness.client.retryPublish(runId, 'carol');
  if (retried.state !== 'published')
    throw new Error(`the retried publish of ${runId} ended ${retried.state}, expected published`);
  return [
    { name: 'publish-retry-run', workflowId: runId },
    { name: 'publish-retry-campaign', workflowId: campaignWorkflowId(spec.id!) },
  ];
}

/** A 30-target preview campaign whose low history limit makes it continue as new; its first and last executions. */
async function recordContinuedAsNew(r: Recorder): Promise<Recording[]> {
  const spec = validateCampaignSpec({
    ...scriptedCampaign(r, 'continued-as-new', fakeFleet('can', 30)),
    maxConcurrentRuns: 5,
    requestedBy: 'recorder',
  });
  r.scripts.set(spec.id, () => ({ outcome: 'no_changes' }));
  const workflowId = campaignWorkflowId(spec.id);
  // The client starts campaigns without a history limit; a small one stands in for a fleet of thousands.
  await r.harness.client.temporal.workflow.start<typeof CampaignWorkflow>('CampaignWorkflow', {
    workflowId,
    taskQueue: r.harness.queues.control,
    args: [{ spec, queues: r.harness.queues, requestedAt: new Date().toISOString(), historyLimit: 100 }],
    typedSearchAttributes: [
      { key: CampaignIdKey, value: spec.id },
      { key: TaskTypeKey, value: spec.taskType },
    ],
  });
  const result = await r.harness.client.campaignResult(spec.id);
  if (result.counts.no_changes !== 30)
    throw new Error(`campaign ${spec.id} ended ${JSON.stringify(result.counts)}, expected 30 no_changes`);
  const latest = await r.harness.client.temporal.workflow.getHandle(workflowId).describe();
  const firstRunId = latest.raw.workflowExecutionInfo?.firstRunId;
  if (!firstRunId || firstRunId === latest.runId)
    throw new Error(`campaign ${spec.id} never continued as new; lower its history limit`);
  return [
    { name: 'continued-as-new-first', workflowId, runId: firstRunId },
    { name: 'continued-as-new-last', workflowId, runId: latest.runId },
  ];
}

/** A desired-state schedule created through the client and triggered once: one repository drifted, one compliant. */
async function recordScheduleFiring(r: Recorder): Promise<Recording[]> {
  const { client, unique } = r.harness;
  const [drifted, compliant] = [
    await loggerService(r, 'sched-drifted', '^1.0.0'),
    await loggerService(r, 'sched-compliant', '^2.1.0'),
  ];
  const scheduleId = `rec-schedule-${unique}`;
  await client.schedules.create({
    id: scheduleId,
    every: '7d',
    paused: true,
    desired: { package: '@acme/logger', atLeast: '2.0' },
    campaign: {
      id: 'rec-logger-2x',
      title: 'Every service on @acme/logger 2.x',
      taskType: 'codemod',
      targets: [drifted, compliant],
      steps: [
        { recipe: 'replace', files: ['package.json'], find: '"@acme/logger": "^1', replace: '"@acme/logger": "^2' },
      ],
      verify: { commands: ['npm test'] },
    },
  });
  r.cleanup.push(() => client.schedules.delete(scheduleId));
  await client.schedules.trigger(scheduleId);
  const described = await eventually(
    () => client.schedules.describe(scheduleId),
    (d) => d.recentFirings.length > 0,
    30_000,
  );
  const firingId = described.recentFirings[0].workflowId;
  const firing = await client.schedules.firingResult(firingId);
  if (firing.result?.counts.published !== 1)
    throw new Error(`firing ${firingId} ended ${JSON.stringify(firing)}, expected one published run`);
  stopTracker(r, firing.campaignId);
  return [
    { name: 'schedule-firing', workflowId: firingId },
    { name: 'schedule-firing-campaign', workflowId: campaignWorkflowId(firing.campaignId) },
  ];
}

/** The governor every publishing path above asked for permits; it runs for as long as the control plane does. */
async function recordPublishGovernor(r: Recorder): Promise<Recording[]> {
  const history = await r.harness.client.temporal.workflow
    .getHandle(r.governorId)
    .fetchHistory()
    .catch(() => undefined);
  if (!history?.events?.some((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes)) {
    throw new Error(
      `the publish governor ${r.governorId} has granted no permit yet; record it after a publishing path`,
    );
  }
  return [{ name: 'publish-governor', workflowId: r.governorId, running: true }];
}

function service(r: Recorder, label: string, tier = 'production'): Promise<Target> {
  return fixtureRepo(`fixtures/rec-${label}-${r.harness.unique}`, {}, { owner: 'storefront', tier });
}

async function loggerService(r: Recorder, label: string, loggerRange: string): Promise<Target> {
  const packageJson = serviceFiles(FLEET.find((s) => s.repo === 'acme/catalog')!)['package.json'].replace(
    '"@acme/logger": "^1.0.0"',
    `"@acme/logger": "${loggerRange}"`,
  );
  return fixtureRepo(
    `fixtures/rec-${label}-${r.harness.unique}`,
    { 'package.json': packageJson },
    { owner: 'storefront' },
  );
}

function renameCampaign(r: Recorder, name: string, targets: Target[]): CampaignSpecInput {
  return {
    id: `rec-${name}-${r.harness.unique}`,
    title: 'Rename oldName to newName',
    targets,
    steps: [{ recipe: 'replace', files: ['src/**/*.js', 'test.js'], find: 'oldName', replace: 'newName' }],
    verify: { commands: ['npm test'] },
  };
}

/** Targets no sandbox ever clones: the scripted execution plane answers for them. */
function fakeFleet(prefix: string, n: number): Target[] {
  return Array.from({ length: n }, (_, i) => ({
    repo: `acme/${prefix}-${String(i).padStart(2, '0')}`,
    url: `http://127.0.0.1:9/acme/${prefix}-${i}.git`,
    ref: 'main',
    owner: 'platform',
  }));
}

function scriptedCampaign(r: Recorder, name: string, targets: Target[]): CampaignSpecInput {
  return {
    id: `rec-${name}-${r.harness.unique}`,
    title: `recorded: ${name}`,
    targets,
    steps: [{ recipe: 'command', run: 'sed -i s/old/new/ README.md' }],
    preview: true,
  };
}

/** The campaign's ledger, not visibility, says when a run waits: the approval update is validated against it. */
async function awaitingApproval(r: Recorder, campaignId: string): Promise<void> {
  await eventually(
    () => r.harness.client.campaignProgress(campaignId),
    (p) => p.counts.needs_approval === 1,
    APPROVAL_WAIT_MS,
  );
}

async function expectRunState(r: Recorder, campaignId: string, state: RunState): Promise<void> {
  const result = await r.harness.client.campaignResult(campaignId);
  const states = result.runs.map((run) => run.state);
  if (states.length !== 1 || states[0] !== state)
    throw new Error(`campaign ${campaignId} ended with runs ${JSON.stringify(result.runs)}, expected one ${state}`);
}

function stopTracker(r: Recorder, campaignId: string): void {
  r.cleanup.push(() =>
    r.harness.client.temporal.workflow.getHandle(changeTrackerWorkflowId(campaignId)).terminate('not recorded'),
  );
}

async function saveHistory(r: Recorder, label: string, out: string, recording: Recording): Promise<RecordedHistory> {
  const handle = r.harness.client.temporal.workflow.getHandle(recording.workflowId, recording.runId);
  // A run answers a publish retry's update before it completes; its history is whole a workflow task later.
  if (!recording.running)
    await eventually(
      () => handle.describe(),
      (d) => d.status.name !== 'RUNNING',
      60_000,
    );
  const history = await handle.fetchHistory();
  const workflowType = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
  if (!workflowType)
    throw new Error(`the history of ${recording.workflowId} does not start with a WorkflowExecutionStarted event`);
  const file = `${label}/${recording.name}.binpb`;
  const bytes = temporal.api.history.v1.History.encode(history).finish();
  fs.mkdirSync(path.join(out, label), { recursive: true });
  fs.writeFileSync(path.join(out, file), bytes);
  const events = history.events?.length ?? 0;
  const large = bytes.length > LARGE_FIXTURE_BYTES ? ' (over 300 KB: make the path smaller)' : '';
  console.log(
    `  ${file}: ${recording.workflowId}, ${workflowType}, ${events} events, ${(bytes.length / 1024).toFixed(1)} KB${large}`,
  );
  return {
    label,
    name: recording.name,
    workflowId: recording.workflowId,
    workflowType,
    file,
    recordedAt: new Date().toISOString(),
    events,
  };
}

/** Adds entries to recorded.json; recording a label's name again replaces its entry. */
function appendIndex(out: string, entries: RecordedHistory[]): void {
  const index = path.join(out, 'recorded.json');
  const existing: RecordedHistory[] = fs.existsSync(index) ? JSON.parse(fs.readFileSync(index, 'utf8')) : [];
  const fresh = new Map(entries.map((e) => [`${e.label}/${e.name}`, e]));
  const kept = existing.map((e) => fresh.get(`${e.label}/${e.name}`) ?? e);
  const added = entries.filter((e) => !existing.some((old) => old.label === e.label && old.name === e.name));
  fs.writeFileSync(index, JSON.stringify([...kept, ...added], null, 2) + '\n');
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      label: { type: 'string' },
      workflows: { type: 'string' },
      out: { type: 'string', default: path.resolve(__dirname, '..', 'test', 'fixtures', 'histories') },
      only: { type: 'string' },
    },
  });
  if (!values.label || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(values.label)) {
    throw new Error(
      `--label must name the release the histories come from (letters, digits, ".", "_", "-"), e.g. --label v2026.12.3; got ${JSON.stringify(values.label)}`,
    );
  }
  const only = values.only?.split(',') ?? Object.keys(PATHS);
  const unknown = only.filter((name) => !(name in PATHS));
  if (unknown.length)
    throw new Error(`--only names unknown paths ${unknown.join(', ')}; the paths are ${Object.keys(PATHS).join(', ')}`);
  if (values.workflows && !fs.existsSync(values.workflows))
    throw new Error(`--workflows ${values.workflows} does not exist; give a checkout's workflows/ folder`);
  return {
    label: values.label,
    workflows: values.workflows && path.resolve(values.workflows),
    out: path.resolve(values.out!),
    only,
  };
}

async function workflowBundleFrom(workflowsPath: string): Promise<WorkflowBundleOption> {
  const noop = () => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    logger: { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop },
  });
  return { code };
}

async function startRecorder(workflows: string | undefined): Promise<Recorder & { shutdown(): Promise<void> }> {
  const config = loadConfig();
  const forge = { down: false };
  const deps = controlDeps(config);
  deps.publish!.afterPush = async () => {
    if (forge.down) throw ApplicationFailure.nonRetryable('the forge is down (injected)');
  };
  const scripts = new Map<string, (repo: string, spec: ExecutionSpec) => ScriptedOutcome>();
  const scripted = scriptedExecution((spec) => scripts.get(spec.campaignId)!(spec.repo.name, spec));
  const real = realExecutionActivities();
  // Control workers run the fleet-wide governor; without it a run records a refused permit request instead.
  const governor = { client: await connectTemporalClient(config.temporal), taskQueue: '', ...config.publishGovernor };
  const harness = await startHarness({
    controlActivities: createControlActivities({ ...deps, governor }),
    executionActivities: {
      ...real,
      executeRun: (spec: Parameters<typeof real.executeRun>[0]) =>
        scripts.has(spec.campaignId) ? scripted.activities.executeRun(spec) : real.executeRun(spec),
    },
    workflowBundle: workflows ? await workflowBundleFrom(workflows) : undefined,
  });
  governor.taskQueue = harness.queues.control;
  const governorId = publishGovernorWorkflowId(new URL(readStackInfo().gitBaseUrl).host, harness.queues.control);
  const shutdown = async () => {
    await harness.client.temporal.workflow
      .getHandle(governorId)
      .terminate('recorded')
      .catch(() => undefined);
    await harness.shutdown();
    await governor.client.connection.close();
  };
  return { harness, scripts, forge, governorId, cleanup: [], shutdown };
}

async function main(): Promise<void> {
  const options = parseOptions();
  console.log(
    `recording ${options.only.join(', ')} as ${options.label}, workflows from ${options.workflows ?? 'this checkout'}`,
  );
  const r = await startRecorder(options.workflows);
  const failed: string[] = [];
  try {
    for (const name of options.only) {
      console.log(`${name}:`);
      try {
        const recordings = await PATHS[name](r);
        const entries: RecordedHistory[] = [];
        for (const recording of recordings) entries.push(await saveHistory(r, options.label, options.out, recording));
        appendIndex(options.out, entries);
      } catch (err) {
        failed.push(name);
        console.error(`  ${name} failed: ${(err as Error).stack ?? err}`);
      } finally {
        await Promise.allSettled(r.cleanup.splice(0).map((undo) => undo()));
      }
    }
  } finally {
    await r.shutdown();
  }
  if (failed.length) throw new Error(`not recorded: ${failed.join(', ')}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
