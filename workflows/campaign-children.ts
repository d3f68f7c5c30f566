/**
 * The child workflows a campaign starts: one RunWorkflow per admitted target, and its change tracker (at its first
 * publish; campaigns started before `tracker-at-first-publish`, at their end).
 */
import { patched, ParentClosePolicy, startChild, WorkflowIdReusePolicy } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { CampaignResult, RunRequest, Target, TargetPageRef, TrackedChange } from '../src/contracts';
import { changeTrackerWorkflowId, runWorkflowId } from '../src/temporal/ids';
import { RUN_PATCH_FOLD } from '../src/temporal/run-patch-fold';
import { CampaignIdKey, OwnerKey, RepositoryKey, RunStateKey, TaskTypeKey } from '../src/temporal/search-attributes';
import type { CampaignWorkflowInput } from './campaign';
import { ChangeTrackerWorkflow } from './change-tracker';
import { lifecycleSettingsOf } from './change-lifecycle';
import type { CampaignLedger } from './ledger/campaign-ledger';
import { RunWorkflow } from './run';

/** Campaigns started before a run's publishing report was its permit request replay requests without it. */
const PERMIT_BY_REPORT_PATCH = 'permit-by-report';

/**
 * Watching change requests takes weeks; a workflow of its own does it, so the campaign can finish. Campaigns started
 * before `tracker-at-first-publish` start it here, when they end (since, campaign-tracker-feed.ts starts it).
 */
export async function startChangeTracker(
  input: CampaignWorkflowInput,
  counts: CampaignResult['counts'],
  changes: readonly TrackedChange[],
  changePages: readonly TargetPageRef[] = [],
  /** Started at the campaign's first publish (patch `tracker-at-first-publish`): later changes arrive by signal. */
  campaignOpen = false,
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
        ...(campaignOpen ? { campaignOpen: true } : {}),
      },
    ],
    typedSearchAttributes: [{ key: CampaignIdKey, value: spec.id }],
    staticSummary: `Change requests of campaign ${spec.id}`,
    staticDetails: `${total} change request(s)${campaignOpen ? ' at start' : ''}, polled every ${spec.tracking.pollMs / 1000} s`,
  });
}

export async function admit(input: CampaignWorkflowInput, ledger: CampaignLedger, target: Target): Promise<void> {
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
    // One marker per campaign execution, instead of one per patch in every run (campaigns started before the fold
    // replay the requests they made without it).
    ...(patched(RUN_PATCH_FOLD) ? { foldedPatches: RUN_PATCH_FOLD } : {}),
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
