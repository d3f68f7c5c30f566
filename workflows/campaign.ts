/**
 * CampaignWorkflow (`campaign/<campaignId>`): admits one RunWorkflow per target through a sliding window,
 * under budget, per-owner limits and a failure circuit breaker; grants publish permits per forge host;
 * continues-as-new before its history grows large, carrying its ledger.
 */
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type {
  CampaignInput,
  CampaignResult,
  RunReport,
  RunRequest,
  Target,
  TargetPageRef,
  TrackedChange,
} from '../src/contracts';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/temporal/failure-types';
import { changeTrackerWorkflowId, runWorkflowId } from '../src/temporal/ids';
import { CampaignIdKey, OwnerKey, RepositoryKey, RunStateKey, TaskTypeKey } from '../src/temporal/search-attributes';
import type { PageActivities } from './activity-types';
import { CampaignLedger, newLedger, type LedgerState } from './ledger/campaign-ledger';
import {
  approvalDecidedSignal,
  approveRunUpdate,
  campaignProgressQuery,
  cancelCampaignUpdate,
  pauseCampaignSignal,
  publishHeldSignal,
  publishPermitGrantedSignal,
  publishPermitRequestedSignal,
  rejectRunUpdate,
  resumeCampaignSignal,
  runReportSignal,
  type RunApprovalRequest,
} from './definitions';
import { ChangeTrackerWorkflow } from './change-tracker';
import { lifecycleSettingsOf } from './change-lifecycle';
import { RunWorkflow } from './run';
import {
  campaignOutcomes,
  describeRollout,
  handleWaveDecisions,
  holdAtGates,
  startRollout,
  withRollout,
  type WaveRollout,
  type WaveState,
} from './waves';

export type { CampaignProgress } from './definitions';

export interface CampaignWorkflowInput extends CampaignInput {
  /** The ledger carried across continue-as-new; absent on the first run. */
  ledger?: LedgerState;
  /** Continue-as-new after this many history events even if the server has not suggested it yet. */
  historyLimit?: number;
  /** The rollout's waves carried across continue-as-new; absent on the first run. */
  waves?: WaveState;
}

/** Campaigns started before failure signatures kept the failing command and error line replay the coarse ones. */
const BREAKER_SIGNATURE_PATCH = 'breaker-signature';
/** Campaigns started before a late report of an ended run was ignored replay counting it again. */
const COUNTS_RUNS_ONCE_PATCH = 'ledger-counts-once';

/** Campaigns started before rollouts in waves had none (a spec could not name one). */
const WAVES_PATCH = 'waves';

export async function CampaignWorkflow(input: CampaignWorkflowInput): Promise<CampaignResult> {
  const rollout = input.spec.rollout && patched(WAVES_PATCH) ? startRollout(input) : undefined;
  const spec = rollout?.spec ?? input.spec;
  const ledger = new CampaignLedger(spec, input.ledger ?? newLedger(input.targetPages), {
    preciseSignatures: patched(BREAKER_SIGNATURE_PATCH),
    countsRunsOnce: patched(COUNTS_RUNS_ONCE_PATCH),
  });
  let heldUntil: number | undefined;
  const waves = rollout?.rollout;
  const progress = () => withRollout(ledger, waves, ledger.progress(heldUntil));
  const refreshDetails = () => {
    const p = progress();
    const counts = Object.entries(p.counts)
      .map(([state, n]) => `${state} ${n}`)
      .join(', ');
    setCurrentDetails(
      `${p.admitted}/${p.total} admitted, ${p.inFlight} in flight — ${counts}` +
        (p.rollout ? `\n\n${describeRollout(p)}` : '') +
        (p.pausedReason ? `\n\n**${p.pausedReason}**` : ''),
    );
  };

  setHandler(campaignProgressQuery, progress);
  setHandler(runReportSignal, (report) => {
    ledger.record(report);
    waves?.record(report, Date.now());
    refreshDetails();
  });
  setHandler(publishPermitRequestedSignal, (request) => {
    ledger.queuePermit(request);
  });
  setHandler(publishHeldSignal, ({ host, untilMs, reason }) => {
    ledger.holdHost(host, untilMs, reason);
  });
  setHandler(pauseCampaignSignal, ({ reason }) => ledger.pause(reason));
  setHandler(resumeCampaignSignal, () => {
    ledger.resume();
    waves?.resume();
  });
  if (waves) handleWaveDecisions(waves, ledger, refreshDetails);
  const deciding = new Map<string, string>();
  setHandler(approveRunUpdate, (request) => decideApproval(ledger, deciding, request, true), {
    validator: (r) => assertAwaitingApproval(ledger, deciding, r),
  });
  setHandler(rejectRunUpdate, (request) => decideApproval(ledger, deciding, request, false), {
    validator: (r) => assertAwaitingApproval(ledger, deciding, r),
  });
  setHandler(cancelCampaignUpdate, async ({ by, reason }) => {
    await cancelRuns(ledger, `cancelled by ${by}${reason ? `: ${reason}` : ''}`);
    await condition(() => ledger.unsettledCount() === 0);
    return ledger.progress();
  });

  try {
    return await admitAndSettle(input, ledger, waves, refreshDetails, (until) => {
      heldUntil = until;
      refreshDetails();
    });
  } catch (err) {
    // Cancelling the workflow itself (Web UI, `temporal workflow cancel`, a schedule's overlap policy) cancels its runs too.
    if (!isCancellation(err) || !patched(CANCEL_CASCADE_PATCH)) throw err;
    await CancellationScope.nonCancellable(async () => {
      await cancelRuns(ledger, 'the campaign workflow was cancelled');
      await condition(() => ledger.unsettledCount() === 0, CANCELLED_RUNS_WAIT_MS);
    });
    throw err;
  }
}

/** Campaigns started before a cancelled campaign workflow cancelled its runs replay without it. */
const CANCEL_CASCADE_PATCH = 'campaign-cancel-cascade';
/** How long a cancelled campaign waits for its runs to report their cancellation before it closes anyway. */
const CANCELLED_RUNS_WAIT_MS = 10 * 60_000;
/** Temporal refuses more than 2,000 pending cancellation requests per workflow; they are sent in batches well below it. */
const CANCEL_BATCH = 500;

/** Stops admission and asks every unsettled run to cancel, a batch at a time; a run that has just ended is left as it ended. */
async function cancelRuns(ledger: CampaignLedger, reason: string): Promise<void> {
  ledger.cancel(reason);
  const runIds = ledger.unsettled().map((run) => run.runId);
  for (let i = 0; i < runIds.length; i += CANCEL_BATCH) {
    await Promise.all(
      runIds.slice(i, i + CANCEL_BATCH).map((runId) =>
        getExternalWorkflowHandle(runId)
          .cancel()
          .catch(() => undefined),
      ),
    );
  }
}

/** Campaigns started before a window of runs started in one workflow task replay awaiting each start. */
const CONCURRENT_RUN_STARTS_PATCH = 'concurrent-run-starts';
/** Campaigns started before a run's publishing report was its permit request replay requests without it. */
const PERMIT_BY_REPORT_PATCH = 'permit-by-report';

/** Campaigns started before published changes were stored in pages replay carrying them whole. */
const PUBLISHED_PAGES_PATCH = 'published-pages';

/** Stores each full page of published changes as it fills, until the campaign is done (or continues as new). */
async function storePublishedPages(
  input: CampaignWorkflowInput,
  ledger: CampaignLedger,
  pages: PageActivities,
  done: () => boolean,
): Promise<void> {
  for (;;) {
    await condition(() => done() || ledger.publishedPageReady() !== undefined);
    const changes = ledger.publishedPageReady();
    if (!changes || !patched(PUBLISHED_PAGES_PATCH)) return;
    const page = (ledger.state.publishedPages?.length ?? 0) + 1;
    ledger.publishedPageStored(await pages.storeTrackedChanges({ campaignId: input.spec.id, page, changes }));
  }
}

async function admitAndSettle(
  input: CampaignWorkflowInput,
  ledger: CampaignLedger,
  waves: WaveRollout | undefined,
  refreshDetails: () => void,
  onHeld: (until?: number) => void,
): Promise<CampaignResult> {
  const pages = proxyActivities<PageActivities>({
    taskQueue: input.queues.control,
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
  });
  let done = false;
  const permits = grantPublishPermits(ledger, () => done, onHeld, patched(PERMITS_IN_ONE_TASK_PATCH));
  const published = storePublishedPages(input, ledger, pages, () => done);
  // A cancelled campaign ends in the admission loop; the other loops' cancellation is then not an unhandled rejection.
  permits.catch(() => undefined);
  published.catch(() => undefined);
  const admittedCount = () => ledger.progress().admitted;
  const gates = waves
    ? holdAtGates(
        waves,
        { admitted: admittedCount, unsettled: () => ledger.unsettledCount(), done: () => done },
        input.queues,
        refreshDetails,
      )
    : Promise.resolve();
  gates.catch(() => undefined);
  const blocker = (target: Target) => ledger.admissionBlocker(target) ?? waves?.admissionBlocker(admittedCount());

  const historyLimit = input.historyLimit ?? 10_000;
  const shouldContinue = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyLimit;
  // Starts are not awaited one by one: a window of runs starts in one workflow task. A start that fails (not a run that
  // exists already, which admit records) fails the campaign, as an awaited start did.
  const concurrentStarts = patched(CONCURRENT_RUN_STARTS_PATCH);
  const starting = new Set<Promise<void>>();
  let startFailure: unknown;
  const failedStart = () => startFailure !== undefined;

  while (!shouldContinue() && !failedStart()) {
    const target = ledger.nextTarget();
    if (!target) {
      const page = ledger.nextPage();
      if (!page) break;
      ledger.loadPage(await pages.readTargetPage(page));
      continue;
    }
    await condition(
      () =>
        blocker(target) === undefined ||
        stopForBudget(ledger, target) ||
        ledger.nextTarget() !== target ||
        shouldContinue() ||
        failedStart(),
    );
    if (ledger.nextTarget() !== target || shouldContinue() || failedStart()) continue;
    if (stopForBudget(ledger, target)) {
      ledger.skipRemaining(
        `budget: $${ledger.leftUsd().toFixed(2)} left cannot cover another run's cap of $${input.spec.runBudgetUsd}`,
      );
      break;
    }
    waves?.admitted(target);
    if (concurrentStarts) {
      const start = admit(input, ledger, target).then(
        () => void starting.delete(start),
        (err: unknown) => void (startFailure ??= err),
      );
      starting.add(start);
    } else await admit(input, ledger, target);
    refreshDetails();
  }
  await Promise.all(starting);
  if (failedStart()) throw startFailure;

  // Before continuing as new, let executing runs finish: their stream of reports would keep rejecting the continue-as-new.
  await condition(
    () =>
      (!ledger.hasMoreTargets() && ledger.unsettledCount() === 0) || (shouldContinue() && ledger.inFlightCount() === 0),
  );
  done = true;
  await permits;
  await published;
  await gates;
  if (ledger.hasMoreTargets() || ledger.unsettledCount() > 0) {
    await condition(allHandlersFinished);
    const next = ledger.carryOver();
    // The ledger carries the stored pages from here on; the input need not repeat them.
    await continueAsNew<typeof CampaignWorkflow>({
      ...input,
      targetPages: undefined,
      spec: next.spec,
      ledger: next.state,
      ...(waves ? { waves: waves.state } : {}),
    });
  }
  await condition(allHandlersFinished);

  const runs = [...Object.values(ledger.state.runs), ...ledger.state.recentFailures];
  const counts = ledger.progress().counts;
  const rolledOut = waves ? await campaignOutcomes(waves, input.queues, admittedCount(), 0) : undefined;
  if (ledger.state.published.length > 0 || ledger.state.publishedPages?.length)
    await startChangeTracker(input, counts, ledger.state.published, ledger.state.publishedPages);
  return {
    campaignId: input.spec.id,
    detail: ledger.keepsEveryRun() ? 'per_run' : 'counts_only',
    runs,
    counts,
    spentUsd: ledger.state.spentUsd,
    stoppedReason: ledger.state.stoppedReason,
    ...rolledOut,
  };
}

/** Watching change requests takes weeks; a workflow of its own does it, so the campaign can finish. */
async function startChangeTracker(
  input: CampaignWorkflowInput,
  counts: CampaignResult['counts'],
  changes: readonly TrackedChange[],
  changePages: readonly TargetPageRef[] = [],
): Promise<void> {
  const total = changes.length + changePages.reduce((n, ref) => n + ref.count, 0);
  const { spec } = input;
  await startChild(ChangeTrackerWorkflow, {
    workflowId: changeTrackerWorkflowId(spec.id),
    taskQueue: input.queues.control,
    parentClosePolicy: ParentClosePolicy.ABANDON,
    args: [
      {
        campaignId: spec.id,
        counts,
        changes: [...changes],
        ...(changePages.length ? { changePages: [...changePages] } : {}),
        queues: input.queues,
        pollMs: spec.tracking.pollMs,
        untilMs: Date.now() + spec.tracking.forMs,
        lifecycle: lifecycleSettingsOf(spec),
      },
    ],
    typedSearchAttributes: [{ key: CampaignIdKey, value: spec.id }],
    staticSummary: `Change requests of campaign ${spec.id}`,
    staticDetails: `${total} change request(s), polled every ${spec.tracking.pollMs / 1000} s`,
  });
}

/** The budget cannot cover the next run and nothing in flight can free a reservation. */
function stopForBudget(ledger: CampaignLedger, target: Target): boolean {
  return ledger.admissionBlocker(target) === 'budget' && Object.keys(ledger.state.reservedUsd).length === 0;
}

async function admit(input: CampaignWorkflowInput, ledger: CampaignLedger, target: Target): Promise<void> {
  const { spec } = input;
  const runId = runWorkflowId(spec.id, target.repo);
  ledger.admit(target, runId);
  const request: RunRequest = {
    campaignId: spec.id,
    runId,
    title: spec.title,
    taskType: spec.taskType,
    requestedBy: spec.requestedBy,
    requestedAt: input.requestedAt,
    target,
    steps: spec.steps,
    verify: spec.verify,
    toolchain: spec.toolchain,
    agent: { task: spec.agent.task ?? spec.title, mode: spec.agent.mode },
    changeKey: spec.changeKey ?? spec.id,
    ...(patched(PERMIT_BY_REPORT_PATCH) ? { permitByReport: true } : {}),
    ...(spec.judge ? { judge: true } : {}),
    paths: spec.paths,
    preview: spec.preview,
    approvalTimeoutMs: spec.approvalTimeoutMs,
    publishRetryWindowMs: spec.publishRetryWindowMs,
    leaseTimeoutMs: spec.leaseTimeoutMs,
    dockerEngineWaitMs: spec.dockerEngineWaitMs,
    runBudgetUsd: spec.runBudgetUsd,
    executionStartTimeoutMs: spec.executionStartTimeoutMs,
    queues: input.queues,
  };
  try {
    await startChild(RunWorkflow, {
      workflowId: runId,
      args: [request],
      taskQueue: input.queues.control,
      // Runs outlive a continue-as-new of their campaign; cancellation is sent explicitly instead.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: CampaignIdKey, value: spec.id },
        { key: RepositoryKey, value: target.repo },
        { key: RunStateKey, value: 'pending' },
        { key: TaskTypeKey, value: spec.taskType },
        ...(target.owner ? [{ key: OwnerKey, value: target.owner }] : []),
      ],
      staticSummary: `${spec.title} — ${target.repo}`,
      staticDetails: `campaign \`${spec.id}\`, repository ${target.url} @ ${target.ref}, task ${spec.taskType}${spec.preview ? ' (preview)' : ''}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    ledger.record({
      runId,
      repo: target.repo,
      owner: target.owner,
      state: 'skipped',
      costUsd: 0,
      failure: { kind: 'infra', message: `a run ${runId} already exists` },
    });
  }
}

/** Campaigns started before permits were granted several to a task replay granting one per signal's delivery. */
const PERMITS_IN_ONE_TASK_PATCH = 'permits-in-one-task';

async function grantPublishPermits(
  ledger: CampaignLedger,
  done: () => boolean,
  onHeld: (until?: number) => void,
  inOneTask: boolean,
): Promise<void> {
  while (!done()) {
    await condition(() => done() || ledger.state.permitQueue.length > 0);
    if (done()) return;
    let next = ledger.nextPermit(Date.now());
    if (next.grant && inOneTask) {
      // Every permit the gate allows now goes out in this task; a run that ended meanwhile simply does not use its own.
      const grants: Promise<void>[] = [];
      for (; next.grant; next = ledger.nextPermit(Date.now()))
        grants.push(
          getExternalWorkflowHandle(next.grant.runId)
            .signal(publishPermitGrantedSignal)
            .catch(() => undefined),
        );
      onHeld(undefined);
      await Promise.all(grants);
      continue;
    }
    if (next.grant) {
      await getExternalWorkflowHandle(next.grant.runId).signal(publishPermitGrantedSignal);
      onHeld(undefined);
    } else if (next.waitUntil !== undefined) {
      onHeld(next.waitUntil);
      await condition(done, Math.max(1, next.waitUntil - Date.now()));
    }
  }
}

function assertAwaitingApproval(
  ledger: CampaignLedger,
  deciding: ReadonlyMap<string, string>,
  request: RunApprovalRequest,
): void {
  const run = ledger.state.runs[request.runId];
  if (!run) throw new Error(`run ${request.runId} is not part of campaign ${ledger.spec.id}`);
  const decided = deciding.get(request.runId);
  if (decided) throw new Error(`run ${request.runId} was already ${decided}; the decision is being applied`);
  if (run.state !== 'needs_approval') throw new Error(`run ${request.runId} is ${run.state}, not awaiting approval`);
}

/** Campaigns started before approvals answered with the state after the decision answer with the report they had. */
const APPROVAL_ANSWERS_AFTER_DECISION_PATCH = 'approval-answers-after-decision';

/** Sends the decision to the run and answers with the run's report once the run has acted on it. */
async function decideApproval(
  ledger: CampaignLedger,
  deciding: Map<string, string>,
  request: RunApprovalRequest,
  approved: boolean,
) {
  await getExternalWorkflowHandle(request.runId).signal(approvalDecidedSignal, {
    approved,
    by: request.by,
    comment: request.comment,
  });
  if (!patched(APPROVAL_ANSWERS_AFTER_DECISION_PATCH)) return ledger.state.runs[request.runId];
  deciding.set(request.runId, `${approved ? 'approved' : 'rejected'} by ${request.by}`);
  let after: RunReport | undefined;
  ledger.onReport(request.runId, (report) => {
    if (report.state !== 'needs_approval') after = report;
    return after !== undefined;
  });
  await condition(() => after !== undefined);
  deciding.delete(request.runId);
  return after!;
}
