/**
 * RunWorkflow (`run/<campaignId>/<repo>`): one repository's change, from request to change request.
 * pending → policy_denied | executing → no_changes | failed | changed | needs_approval → publishing → published | publish_failed
 */
import {
  ActivityFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  ExecutionResult,
  ExecutionSpec,
  PatchAuditResult,
  PolicyDecision,
  PublishOutcome,
  PublishRequest,
  RunRequest,
  RunSummary,
} from '../src/contracts';
import { hashSpec } from '../src/contracts/hash';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/temporal/failure-types';
import { changeBranch } from '../src/temporal/ids';
import { describePreExisting } from '../src/verification/baseline';
import { describeFindings } from '../src/verification/findings';
import type { ControlActivities, GovernorActivities } from './activity-types';
import { publishHeldSignal, publishPermitRequestedSignal } from './definitions';
import {
  checkScope,
  firstErrorLine,
  missingPublishEvidence,
  refusedBySplitting,
  scopeRequestRefusal,
  widenScope,
} from './evidence';
import { buildExecutionSpec } from './execution-spec';
import { execute } from './run-execute';
import { RunInbox } from './run-inbox';
import { RunJournal } from './run-journal';
import { RUN_PATCHES } from './run-patches';

/** What every step of a run works with: its request, its journal, its inbox and the activities it may call. */
interface RunContext {
  request: RunRequest;
  run: RunJournal;
  inbox: RunInbox;
  control: ControlActivities;
  /** The policy decision is pure and fast: a local activity, one marker in the history instead of a task round trip. */
  local: Pick<ControlActivities, 'decidePolicy'>;
  /** Publishing heartbeats: a control worker that dies mid-publish loses it in seconds, not at the 5-minute limit. */
  publishing: ControlActivities;
  /** One attempt: a control plane without a governor fails fast, and publishing falls back to the campaign's own rate. */
  governor: GovernorActivities;
}

export async function RunWorkflow(request: RunRequest): Promise<RunSummary> {
  const run = new RunJournal(request);
  const retry = { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES };
  const ctx: RunContext = {
    request,
    run,
    inbox: new RunInbox(run, request),
    control: proxyActivities<ControlActivities>({
      taskQueue: request.queues.control,
      startToCloseTimeout: '5 minutes',
      retry,
    }),
    local: proxyLocalActivities<ControlActivities>({ startToCloseTimeout: '1 minute', retry }),
    publishing: proxyActivities<ControlActivities>({
      taskQueue: request.queues.control,
      startToCloseTimeout: '5 minutes',
      heartbeatTimeout: '20 seconds',
      retry,
    }),
    governor: proxyActivities<GovernorActivities>({
      taskQueue: request.queues.control,
      startToCloseTimeout: '1 minute',
      retry: { maximumAttempts: 1 },
    }),
  };
  try {
    await lifecycle(ctx);
    // An update (a publish retry) may still be answering; let it finish before the run closes.
    await condition(allHandlersFinished);
    return run.summary();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(() =>
      run.transition('cancelled', 'the campaign or an operator cancelled the run'),
    );
    throw err;
  }
}

/** The run's steps, in order; each ends the run itself (in its journal) when it returns nothing to go on with. */
async function lifecycle(ctx: RunContext): Promise<void> {
  const decision = await decide(ctx);
  if (!decision) return;
  const executed = await executeWithinScope(ctx, decision);
  if (!executed) return;
  if (!(await acceptEvidence(ctx.run, decision, executed.spec, executed.result, ctx.control))) return;
  if (!(await approveForPublishing(ctx, decision, executed.spec, executed.result))) return;
  await publish(ctx, executed.result);
}

/** Step 1: the policy decides whether, and how, the run may execute. */
async function decide(ctx: RunContext): Promise<PolicyDecision | undefined> {
  // Runs recorded before the policy decision was a local activity replay the activity task they scheduled.
  const { decidePolicy } = ctx.run.patches.has(RUN_PATCHES.localPolicyDecision) ? ctx.local : ctx.control;
  const decision = (ctx.run.decision = await decidePolicy(ctx.request));
  if (decision.verdict !== 'deny') return decision;
  await ctx.run.transition('policy_denied', decision.reason);
  return undefined;
}

/**
 * Step 2: execute the spec; where the agent asks for more scope, wait for a human, and execute again with the scope
 * approved (runs recorded before the patch replay the old check of the unfinished result).
 */
async function executeWithinScope(
  ctx: RunContext,
  decision: PolicyDecision,
): Promise<{ spec: ExecutionSpec; result: ExecutionResult } | undefined> {
  const { run, request } = ctx;
  const spec = buildExecutionSpec(request, decision);
  run.specHash = hashSpec(spec);
  const result = await execute(run, request, spec);
  if (!result?.scopeRequest) return result && { spec, result };

  const asked = result.scopeRequest;
  // Runs recorded before an approved scope request re-executed the run replay the old check of the unfinished result.
  const reexecutes = run.patches.has(RUN_PATCHES.scopeApprovalReexecutes);
  const refusal = reexecutes ? scopeRequestRefusal(spec, asked) : undefined;
  if (refusal) {
    await run.fail({ kind: 'policy', message: `scope request refused: ${refusal}` });
    return undefined;
  }
  const wanted = [
    ...(asked.paths ?? []).map((p) => `path ${p}`),
    ...(asked.commands ?? []).map((c) => `command ${c}`),
  ].join(', ');
  if (!(await awaitApproval(ctx, `the agent asks for more scope (${wanted || 'unspecified'}): ${asked.reason}`)))
    return undefined;
  if (!reexecutes) return { spec, result };

  // The approval widens the scope of a new execution; the first one's unfinished work is not evidence.
  const widened = widenScope(spec, asked, run.approvedBy!, result.cost.usd);
  run.specHash = hashSpec(widened);
  run.priorCostUsd += result.cost.usd;
  run.result = undefined;
  const again = await execute(run, request, widened, `approved by ${run.approvedBy}: ${wanted}`);
  if (!again) return undefined;
  if (again.scopeRequest) {
    await run.fail({
      kind: 'policy',
      message: `the agent asked for more scope again after an approval (${again.scopeRequest.reason}); one widening per run`,
    });
    return undefined;
  }
  // The approval was for the scope, not for this result: a policy that wants approval before publishing asks again.
  run.approvedBy = undefined;
  return { spec: widened, result: again };
}

/**
 * Step 4: a preview or a result without publishable evidence ends here; the patch audit may block the run or ask a
 * human, and policy may ask a human first.
 */
async function approveForPublishing(
  ctx: RunContext,
  decision: PolicyDecision,
  spec: ExecutionSpec,
  result: ExecutionResult,
): Promise<boolean> {
  if (ctx.request.preview) {
    await ctx.run.transition('changed', 'preview: evidence collected, nothing published');
    return false;
  }
  const missing = missingPublishEvidence(result);
  if (missing) {
    await ctx.run.transition('changed', `not published: ${missing}`);
    return false;
  }
  // Runs recorded before the patch audit publish without auditing their patch.
  if (ctx.run.patches.has(RUN_PATCHES.patchAudit) && !(await auditBeforePublishing(ctx, decision, spec, result)))
    return false;
  return !decision.approvalBeforePr || ctx.run.approvedBy !== undefined || awaitApproval(ctx, decision.reason);
}

/**
 * The patch audit: findings (and the judge's veto) go through policy; `block` fails the run naming them,
 * `needs_approval` waits for a human. The result is evidence: in the memo, and in the change request's body.
 */
async function auditBeforePublishing(
  ctx: RunContext,
  decision: PolicyDecision,
  spec: ExecutionSpec,
  result: ExecutionResult,
): Promise<boolean> {
  const { run, request } = ctx;
  let audit: PatchAuditResult;
  try {
    audit = await ctx.control.auditPatch({
      runId: request.runId,
      taskType: request.taskType,
      patch: result.manifest.artifacts.find((a) => a.type === 'patch')!,
      policy: decision.patchAudit,
      approvedPaths: spec.approvedScope?.paths ?? [],
      intent: { title: request.title, task: request.agent.task },
      judge: request.judge,
    });
  } catch (err) {
    if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
    await run.fail({ kind: 'infra', message: `the patch audit failed: ${err.cause?.message ?? err.message}` });
    return false;
  }
  run.audit = audit;
  upsertMemo({
    patchAudit: {
      verdict: audit.verdict,
      findings: audit.findings.slice(0, LISTED_FINDINGS).map((f) => `${f.effect} ${describeFindings([f])}`),
      findingCount: audit.findings.length,
      ...(audit.judge ? { judge: `${audit.judge.verdict}: ${audit.judge.reasons.join('; ')}` } : {}),
      ...(audit.uri ? { record: audit.uri } : {}),
    },
  });
  const concerns = auditConcerns(audit, audit.verdict);
  if (audit.verdict === 'block') {
    await run.fail({ kind: 'verification', message: `the patch audit blocked publishing: ${concerns}` });
    return false;
  }
  if (audit.verdict === 'needs_approval') return awaitApproval(ctx, `the patch audit asks for a review: ${concerns}`);
  return true;
}

/** The findings (and the judge's say) with the given effect, as one line a failure or an approval request names. */
function auditConcerns(audit: PatchAuditResult, effect: PatchAuditResult['verdict']): string {
  const judge =
    audit.judge?.effect === effect ? [`judge ${audit.judge.verdict}: ${audit.judge.reasons.join('; ')}`] : [];
  const findings = audit.findings.filter((f) => f.effect === effect);
  const more = findings.length > LISTED_FINDINGS ? [`and ${findings.length - LISTED_FINDINGS} more`] : [];
  const listed = findings.length ? [describeFindings(findings.slice(0, LISTED_FINDINGS))] : [];
  return [...listed, ...more, ...judge].join('; ');
}

/** A failure, an approval request and the memo name this many findings; the audit's record keeps them all. */
const LISTED_FINDINGS = 10;

/** Step 5: publish under the campaign's and the fleet's limits; a failed publish waits for a retry by update. */
async function publish(ctx: RunContext, result: ExecutionResult): Promise<void> {
  const { run, request, inbox, governor } = ctx;
  for (;;) {
    // Runs recorded before the baseline keep their publishing note without it.
    const onBase =
      result.verification.baseline &&
      run.patches.has(RUN_PATCHES.verificationBaseline) &&
      describePreExisting(result.verification);
    const note =
      [run.approvedBy ? `approved by ${run.approvedBy}` : '', onBase || ''].filter(Boolean).join('; ') || undefined;
    inbox.permitGranted = false;
    if (request.permitByReport && workflowInfo().parent) {
      // The report is the permit request; a campaign that has closed grants nothing, and sets no rate any more.
      if (await run.transition('publishing', note, { permitHost: forgeHost(request) }))
        await condition(() => inbox.permitGranted);
    } else {
      await run.transition('publishing', note);
      await awaitPublishPermit(request, () => inbox.permitGranted);
    }
    inbox.globalPermitGranted = false;
    if (
      await askGovernor(() => governor.requestGlobalPublishPermit({ host: forgeHost(request), runId: request.runId }))
    )
      await condition(() => inbox.globalPermitGranted);
    const outcome = await publishOnce(ctx.publishing, publishRequestFor(request, run, result));
    inbox.publishAttempts++;
    if (outcome.ok) {
      run.changeRequest = outcome.changeRequest;
      await run.transition('published', outcome.changeRequest.url);
      return;
    }
    if (outcome.reason === 'rate_limited') {
      // Not a failure: the forge said when to come back, and the whole campaign holds publishing to it until then.
      const retryAfterMs = outcome.retryAfterMs ?? 60_000;
      await askGovernor(() =>
        governor.holdGlobalPublishing({ host: forgeHost(request), untilMs: Date.now() + retryAfterMs }),
      );
      await holdPublishing(request, retryAfterMs, outcome.message);
      continue;
    }
    inbox.retryRequested = false;
    await run.transition('publish_failed', `${outcome.reason}: ${outcome.message}`);
    if (!(await condition(() => inbox.retryRequested, request.publishRetryWindowMs))) return;
  }
}

/** Waits durably for a human; true when approved, false when rejected or expired (the run has ended). */
async function awaitApproval(ctx: RunContext, why: string): Promise<boolean> {
  const { run, inbox, request } = ctx;
  inbox.approval = undefined;
  await run.transition('needs_approval', why);
  if (!(await condition(() => inbox.approval !== undefined, request.approvalTimeoutMs))) {
    await run.fail({ kind: 'policy', message: `no approval within ${request.approvalTimeoutMs} ms` });
    return false;
  }
  const decision = inbox.approval!;
  if (!decision.approved) {
    await run.transition('rejected', `rejected by ${decision.by}${decision.comment ? `: ${decision.comment}` : ''}`);
    return false;
  }
  run.approvedBy = decision.by;
  return true;
}

/** The shell parser is WebAssembly, so the control plane reads reported commands in an activity, not here. */
async function refusedCommands(
  run: RunJournal,
  control: ControlActivities,
  decision: PolicyDecision,
  spec: ExecutionSpec,
  result: ExecutionResult,
): Promise<string[]> {
  // An approved scope request adds commands to the spec's allowlist; otherwise it is the policy's.
  const allowlist = spec.approvedScope ? spec.agent!.allowedCommands : decision.allowedCommands;
  // Runs recorded before commands were read by the shell parser replay the line splitter they were checked with.
  if (!run.patches.has(RUN_PATCHES.commandParser)) return refusedBySplitting(result.commands, allowlist);
  return result.commands.length > 0 ? control.checkCommands({ commands: result.commands, allowlist }) : [];
}

/** Evidence is accepted only from an attempt that executed exactly this spec and stayed within its scope. */
async function acceptEvidence(
  run: RunJournal,
  decision: PolicyDecision,
  spec: ExecutionSpec,
  result: ExecutionResult,
  control: ControlActivities,
): Promise<boolean> {
  run.result = result;
  // The memo is what an operator sees first in the Web UI: where the evidence is, and who produced it.
  upsertMemo({
    specHash: run.specHash,
    policy: `${decision.bundle.name}@${decision.bundle.version} (${decision.bundle.hash.slice(0, 12)})`,
    worker: result.worker.identity,
    attempt: result.attempt,
    artifacts: Object.fromEntries(result.manifest.artifacts.map((a) => [a.name, a.uri])),
  });
  const baseline = result.verification.baseline;
  // Runs recorded before the baseline keep their memo without it.
  if (baseline && run.patches.has(RUN_PATCHES.verificationBaseline)) {
    const { preExisting, baselineFindings } = result.verification;
    upsertMemo({
      verificationBaseline: { ...baseline, preExisting: preExisting ?? [], findings: baselineFindings ?? [] },
    });
  }
  if (result.specHash !== run.specHash) {
    await run.fail({
      kind: 'policy',
      message: `evidence is for spec ${result.specHash}, expected ${run.specHash}; discarded`,
    });
    return false;
  }
  if (result.outcome === 'failed') {
    await run.fail(result.failure ?? { kind: 'infra', message: 'execution failed without a reason' });
    return false;
  }
  const violation = checkScope(spec, decision, result, await refusedCommands(run, control, decision, spec, result));
  if (violation) {
    await run.fail(violation);
    return false;
  }
  if (result.outcome === 'no_changes') {
    await run.transition('no_changes', `nothing to change (${result.worker.identity})`);
    return false;
  }
  if (result.verification.verdict === 'failed') {
    await run.fail({ kind: 'verification', message: 'verification failed: ' + failedCommands(result) });
    return false;
  }
  return true;
}

/** False when this control plane runs no governor (the activity is not registered), so only campaign limits apply. */
async function askGovernor(call: () => Promise<void>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    if (isCancellation(err)) throw err;
    return false;
  }
}

async function holdPublishing(request: RunRequest, retryAfterMs: number, reason: string): Promise<void> {
  const parent = workflowInfo().parent;
  if (parent) {
    const signal = { host: forgeHost(request), untilMs: Date.now() + retryAfterMs, reason };
    await getExternalWorkflowHandle(parent.workflowId)
      .signal(publishHeldSignal, signal)
      .catch(() => undefined);
  }
  await sleep(retryAfterMs);
}

function forgeHost(request: RunRequest): string {
  return /^https?:\/\/([^/]+)/.exec(request.target.url)?.[1] ?? request.target.url;
}

/** Publishing is rate-limited by the campaign per forge host; a run on its own publishes at once. */
async function awaitPublishPermit(request: RunRequest, granted: () => boolean): Promise<void> {
  const parent = workflowInfo().parent;
  if (!parent) return;
  const host = forgeHost(request);
  try {
    await getExternalWorkflowHandle(parent.workflowId).signal(publishPermitRequestedSignal, {
      runId: request.runId,
      host,
    });
  } catch {
    // The campaign has finished (a publish retried later): there is no campaign-wide rate left to respect.
    return;
  }
  await condition(granted);
}

function publishRequestFor(request: RunRequest, run: RunJournal, result: ExecutionResult): PublishRequest {
  const decision = run.decision!;
  return {
    runId: request.runId,
    campaignId: request.campaignId,
    title: request.title,
    repo: { name: request.target.repo, url: request.target.url, ref: request.target.ref },
    branch: changeBranch(request.changeKey),
    autonomy: decision.autonomy,
    patch: result.manifest.artifacts.find((a) => a.type === 'patch')!,
    evidence: {
      summary: `${request.title} (${request.taskType}), requested by ${request.requestedBy}`,
      steps: request.steps.map((s) => s.name ?? s.recipe),
      touchedFiles: result.touchedFiles,
      verification: result.verification,
      toolchain: result.toolchain,
      cost: result.cost,
      policy: decision.bundle,
      specHash: result.specHash,
      artifacts: result.manifest.artifacts,
      approvedBy: run.approvedBy,
      ...(run.audit ? { audit: run.audit } : {}),
    },
  };
}

/** A forge that keeps failing after the activity's retries is a failed publish, retryable by update, not a failed run. */
async function publishOnce(control: ControlActivities, request: PublishRequest): Promise<PublishOutcome> {
  try {
    return await control.publishChangeRequest(request);
  } catch (err) {
    if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
    return { ok: false, reason: 'forge_error', message: err.cause?.message ?? err.message };
  }
}

/** What failed, as people read it, with the first error line of the failing command: the breaker tells failures apart by it. */
function failedCommands(result: ExecutionResult): string {
  const failing = result.verification.commands.filter((c) => c.exitCode !== 0);
  const what = result.verification.summary ?? failing.map((c) => `\`${c.command}\` exited ${c.exitCode}`).join(', ');
  const firstError = failing.map((c) => firstErrorLine(c.output)).find((line) => line !== undefined);
  return firstError ? `${what}: ${firstError}` : what;
}
