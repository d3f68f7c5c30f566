/**
 * RunWorkflow (`run/<campaignId>/<repo>`): one repository's change, from request to change request.
 * pending → policy_denied | executing → no_changes | failed | changed | needs_approval → publishing → published | publish_failed
 */
import {
  type ActivityOptions,
  ActivityCancellationType,
  allHandlersFinished,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  TimeoutFailure,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  ExecutionResult,
  ExecutionSpec,
  Failure,
  PolicyDecision,
  PublishOutcome,
  PublishRequest,
  RunRequest,
  RunSummary,
} from '../src/contracts';
import { hashSpec } from '../src/contracts/hash';
import { DOCKER_ENGINE_UNAVAILABLE } from '../src/temporal/failure-types';
import { approvalDecidedSignal, publishHeldSignal, publishPermitGrantedSignal, publishPermitRequestedSignal, retryPublishUpdate, runStatusQuery, type ApprovalDecision } from './definitions';
import { checkScope, firstErrorLine, missingPublishEvidence, refusedBySplitting, scopeRequestRefusal, widenScope } from './evidence';
import { buildExecutionSpec } from './execution-spec';
import { governorPermitGrantedSignal } from './publish-governor';
import { RunJournal } from './run-journal';

interface ExecutionActivities {
  executeRun(spec: ExecutionSpec): Promise<ExecutionResult>;
}

interface ControlActivities {
  decidePolicy(request: RunRequest): Promise<PolicyDecision>;
  checkCommands(input: { commands: string[]; allowlist: string[] }): Promise<string[]>;
  publishChangeRequest(request: PublishRequest): Promise<PublishOutcome>;
}

/** Present only where the control worker runs a fleet-wide governor. */
interface GovernorActivities {
  requestGlobalPublishPermit(input: { host: string; runId: string }): Promise<void>;
  holdGlobalPublishing(input: { host: string; untilMs: number }): Promise<void>;
}

export async function RunWorkflow(request: RunRequest): Promise<RunSummary> {
  const run = new RunJournal(request);
  const control = proxyActivities<ControlActivities>({
    taskQueue: request.queues.control,
    startToCloseTimeout: '5 minutes',
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['ContractViolation'] },
  });
  // Publishing heartbeats: a control worker that dies mid-publish loses it in seconds, not at the 5-minute limit.
  const publishing = proxyActivities<ControlActivities>({
    taskQueue: request.queues.control,
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '20 seconds',
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['ContractViolation'] },
  });

  let approval: ApprovalDecision | undefined;
  let permitGranted = false;
  let publishAttempts = 0;
  let retryRequested = false;
  setHandler(runStatusQuery, () => run.summary());
  setHandler(approvalDecidedSignal, (decision) => {
    if (run.state === 'needs_approval') approval = decision;
  });
  setHandler(publishPermitGrantedSignal, () => {
    permitGranted = true;
  });
  let globalPermitGranted = false;
  setHandler(governorPermitGrantedSignal, () => {
    globalPermitGranted = true;
  });
  // One attempt: a control plane without a governor fails fast, and publishing falls back to the campaign's own rate.
  const governor = proxyActivities<GovernorActivities>({ taskQueue: request.queues.control, startToCloseTimeout: '1 minute', retry: { maximumAttempts: 1 } });
  setHandler(
    retryPublishUpdate,
    async ({ by }) => {
      log.info(`publish retry requested by ${by}`);
      const before = publishAttempts;
      retryRequested = true;
      await condition(() => publishAttempts > before && run.state !== 'publishing');
      return run.summary();
    },
    {
      validator: ({ by }) => {
        if (!by) throw new Error('a publish retry must say who asked for it (by)');
        if (run.state !== 'publish_failed') {
          throw new Error(`run ${request.runId} is ${run.state}, not publish_failed; only a failed publish can be retried`);
        }
      },
    },
  );

  /** Waits durably for a human; true when approved, false when rejected or expired (the run has ended). */
  const awaitApproval = async (why: string): Promise<boolean> => {
    approval = undefined;
    await run.transition('needs_approval', why);
    if (!(await condition(() => approval !== undefined, request.approvalTimeoutMs))) {
      await run.fail({ kind: 'policy', message: `no approval within ${request.approvalTimeoutMs} ms` });
      return false;
    }
    if (!approval!.approved) {
      await run.transition('rejected', `rejected by ${approval!.by}${approval!.comment ? `: ${approval!.comment}` : ''}`);
      return false;
    }
    run.approvedBy = approval!.by;
    return true;
  };

  const lifecycle = async (): Promise<void> => {
    run.decision = await control.decidePolicy(request);
    if (run.decision.verdict === 'deny') {
      await run.transition('policy_denied', run.decision.reason);
      return;
    }
    let spec = buildExecutionSpec(request, run.decision);
    run.specHash = hashSpec(spec);

    let result = await execute(run, request, spec);
    if (!result) return;
    if (result.scopeRequest) {
      const asked = result.scopeRequest;
      const reexecutes = patched(SCOPE_APPROVAL_REEXECUTES_PATCH);
      const refusal = reexecutes ? scopeRequestRefusal(spec, asked) : undefined;
      if (refusal) {
        await run.fail({ kind: 'policy', message: `scope request refused: ${refusal}` });
        return;
      }
      const wanted = [...(asked.paths ?? []).map((p) => `path ${p}`), ...(asked.commands ?? []).map((c) => `command ${c}`)].join(', ');
      if (!(await awaitApproval(`the agent asks for more scope (${wanted || 'unspecified'}): ${asked.reason}`))) return;
      if (reexecutes) {
        // The approval widens the scope of a new execution; the first one's unfinished work is not evidence.
        spec = widenScope(spec, asked, run.approvedBy!, result.cost.usd);
        run.specHash = hashSpec(spec);
        run.priorCostUsd += result.cost.usd;
        run.result = undefined;
        result = await execute(run, request, spec, `approved by ${run.approvedBy}: ${wanted}`);
        if (!result) return;
        if (result.scopeRequest) {
          await run.fail({ kind: 'policy', message: `the agent asked for more scope again after an approval (${result.scopeRequest.reason}); one widening per run` });
          return;
        }
        run.approvedBy = undefined;
      }
    }
    if (!(await acceptEvidence(run, run.decision, spec, result, control))) return;

    if (request.preview) {
      await run.transition('changed', 'preview: evidence collected, nothing published');
      return;
    }
    const missing = missingPublishEvidence(result);
    if (missing) {
      await run.transition('changed', `not published: ${missing}`);
      return;
    }
    if (run.decision.approvalBeforePr && !run.approvedBy && !(await awaitApproval(run.decision.reason))) return;

    for (;;) {
      await run.transition('publishing', run.approvedBy ? `approved by ${run.approvedBy}` : undefined);
      permitGranted = false;
      await awaitPublishPermit(request, () => permitGranted);
      globalPermitGranted = false;
      if (await askGovernor(() => governor.requestGlobalPublishPermit({ host: forgeHost(request), runId: request.runId }))) await condition(() => globalPermitGranted);
      const outcome = await publishOnce(publishing, publishRequestFor(request, run, result));
      publishAttempts++;
      if (outcome.ok) {
        run.changeRequest = outcome.changeRequest;
        await run.transition('published', outcome.changeRequest.url);
        return;
      }
      if (outcome.reason === 'rate_limited') {
        // Not a failure: the forge said when to come back, and the whole campaign holds publishing to it until then.
        const retryAfterMs = outcome.retryAfterMs ?? 60_000;
        await askGovernor(() => governor.holdGlobalPublishing({ host: forgeHost(request), untilMs: Date.now() + retryAfterMs }));
        await holdPublishing(request, retryAfterMs, outcome.message);
        continue;
      }
      retryRequested = false;
      await run.transition('publish_failed', `${outcome.reason}: ${outcome.message}`);
      if (!(await condition(() => retryRequested, request.publishRetryWindowMs))) return;
    }
  };

  try {
    await lifecycle();
    // An update (a publish retry) may still be answering; let it finish before the run closes.
    await condition(allHandlersFinished);
    return run.summary();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(() => run.transition('cancelled', 'the campaign or an operator cancelled the run'));
    throw err;
  }
}

/** Runs recorded before an approved scope request re-executed the run replay the old check of the unfinished result. */
const SCOPE_APPROVAL_REEXECUTES_PATCH = 'scope-approval-reexecutes';

/** Runs started before the engine wait replay the single call they were recorded with. */
const ENGINE_WAIT_PATCH = 'docker-engine-wait';
const DEFAULT_ENGINE_WAIT_MS = 10 * 60_000;
const ENGINE_RETRY_FIRST_MS = 5_000;
const ENGINE_RETRY_MAX_MS = 60_000;

async function execute(run: RunJournal, request: RunRequest, spec: ExecutionSpec, why?: string): Promise<ExecutionResult | undefined> {
  const options: ActivityOptions = {
    taskQueue: request.queues.execution,
    // The heartbeat timeout is the lease: a worker that stops heartbeating loses the run to another worker.
    heartbeatTimeout: request.leaseTimeoutMs,
    startToCloseTimeout: spec.limits.runTimeoutMs + 60_000,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: 3, initialInterval: '2 seconds', nonRetryableErrorTypes: ['ContractViolation'] },
    summary: `execute ${request.target.repo} in a sandbox (${spec.network} network)`,
  };
  await run.transition('executing', `on ${request.queues.execution}, policy ${spec.policy.version}${why ? `, ${why}` : ''}`);
  if (!patched(ENGINE_WAIT_PATCH)) {
    try {
      return await proxyActivities<ExecutionActivities>(options).executeRun(spec);
    } catch (err) {
      if (isCancellation(err)) throw err;
      await run.fail(classifyActivityFailure(err));
      return undefined;
    }
  }

  const waitMs = request.dockerEngineWaitMs ?? DEFAULT_ENGINE_WAIT_MS;
  let waitingSince: number | undefined;
  for (let retry = 0; ; retry++) {
    const { executeRun } = proxyActivities<ExecutionActivities>({
      ...options,
      // Lost leases are retried by Temporal at once; an unreachable engine is waited out below, for the run's window.
      retry: { ...options.retry, nonRetryableErrorTypes: ['ContractViolation', DOCKER_ENGINE_UNAVAILABLE] },
      // While waiting, a retry may sit queued because every worker's engine is down: that time counts against the window too.
      // Otherwise a run waits executionStartTimeoutMs for a worker to take it, then fails as infra, naming the queue.
      scheduleToStartTimeout: waitingSince === undefined ? request.executionStartTimeoutMs : Math.max(1_000, waitingSince + waitMs - Date.now()),
    });
    try {
      const result = await executeRun(spec);
      if (waitingSince !== undefined) noteEngineWait(run, `resumed after waiting ${seconds(Date.now() - waitingSince)} for the Docker engine (${retry} retr${retry === 1 ? 'y' : 'ies'})`);
      return result;
    } catch (err) {
      if (isCancellation(err)) throw err;
      const reason = engineUnavailableReason(err, waitingSince !== undefined);
      if (reason === undefined) {
        await run.fail(noWorkerTookIt(err) ? noExecutionWorkerFailure(request) : classifyActivityFailure(err));
        return undefined;
      }
      waitingSince ??= Date.now();
      const waited = Date.now() - waitingSince;
      if (waited >= waitMs) {
        const since = new Date(waitingSince).toISOString();
        await run.fail({ kind: 'infra', message: `the Docker engine was unavailable from ${since} for ${seconds(waited)}, past the run's dockerEngineWaitMs of ${waitMs} ms: ${reason}` });
        return undefined;
      }
      const delay = Math.min(ENGINE_RETRY_FIRST_MS * 2 ** retry, ENGINE_RETRY_MAX_MS, waitMs - waited);
      const until = new Date(waitingSince + waitMs).toISOString();
      setCurrentDetails(`**executing** — waiting for the Docker engine since ${new Date(waitingSince).toISOString()} (${reason}); retry ${retry + 1} in ${seconds(delay)}, fails as infra at ${until}`);
      log.warn(`run ${request.runId} waits for the Docker engine: ${reason}`);
      await sleep(delay);
      setCurrentDetails(`**executing** — retry ${retry + 1} after waiting for the Docker engine since ${new Date(waitingSince).toISOString()}`);
    }
  }
}

/** Why an attempt failed for want of a Docker engine, or undefined when it failed for any other reason. */
function engineUnavailableReason(err: unknown, alreadyWaiting: boolean): string | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type === DOCKER_ENGINE_UNAVAILABLE) return cause.message;
  if (alreadyWaiting && cause instanceof TimeoutFailure && cause.timeoutType === 'SCHEDULE_TO_START') return 'no execution worker with a reachable Docker engine took the run';
  return undefined;
}

function noWorkerTookIt(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';
}

function noExecutionWorkerFailure(request: RunRequest): Failure {
  return {
    kind: 'infra',
    message: `no execution worker took the run from task queue ${request.queues.execution} within ${request.executionStartTimeoutMs} ms (executionStartTimeoutMs); start one on that queue (\`regatta dev status\` shows the workers)`,
  };
}

/** A wait for the engine is kept in the run's record without changing its state. */
function noteEngineWait(run: RunJournal, note: string): void {
  run.events.push({ at: new Date().toISOString(), from: 'executing', to: 'executing', note });
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/** Runs recorded before commands were read by the shell parser replay the line splitter they were checked with. */
const COMMAND_PARSER_PATCH = 'command-policy-parser';

/** The shell parser is WebAssembly, so the control plane reads reported commands in an activity, not here. */
async function refusedCommands(control: ControlActivities, decision: PolicyDecision, spec: ExecutionSpec, result: ExecutionResult): Promise<string[]> {
  // An approved scope request adds commands to the spec's allowlist; otherwise it is the policy's.
  const allowlist = spec.approvedScope ? spec.agent!.allowedCommands : decision.allowedCommands;
  if (!patched(COMMAND_PARSER_PATCH)) return refusedBySplitting(result.commands, allowlist);
  return result.commands.length > 0 ? control.checkCommands({ commands: result.commands, allowlist }) : [];
}

/** Evidence is accepted only from an attempt that executed exactly this spec and stayed within its scope. */
async function acceptEvidence(run: RunJournal, decision: PolicyDecision, spec: ExecutionSpec, result: ExecutionResult, control: ControlActivities): Promise<boolean> {
  run.result = result;
  // The memo is what an operator sees first in the Web UI: where the evidence is, and who produced it.
  upsertMemo({
    specHash: run.specHash,
    policy: `${decision.bundle.name}@${decision.bundle.version} (${decision.bundle.hash.slice(0, 12)})`,
    worker: result.worker.identity,
    attempt: result.attempt,
    artifacts: Object.fromEntries(result.manifest.artifacts.map((a) => [a.name, a.uri])),
  });
  if (result.specHash !== run.specHash) {
    await run.fail({ kind: 'policy', message: `evidence is for spec ${result.specHash}, expected ${run.specHash}; discarded` });
    return false;
  }
  if (result.outcome === 'failed') {
    await run.fail(result.failure ?? { kind: 'infra', message: 'execution failed without a reason' });
    return false;
  }
  const violation = checkScope(spec, decision, result, await refusedCommands(control, decision, spec, result));
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
    await getExternalWorkflowHandle(parent.workflowId).signal(publishHeldSignal, signal).catch(() => undefined);
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
    await getExternalWorkflowHandle(parent.workflowId).signal(publishPermitRequestedSignal, { runId: request.runId, host });
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
    branch: `regatta/${request.changeKey}`,
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

function classifyActivityFailure(err: unknown): Failure {
  if (!(err instanceof ActivityFailure)) throw err;
  const cause = err.cause;
  if (cause instanceof TimeoutFailure) return { kind: 'timeout', message: `execution lease expired (${cause.timeoutType})` };
  if (cause instanceof ApplicationFailure) return { kind: 'infra', message: `${cause.type ?? 'Error'}: ${cause.message}` };
  return { kind: 'infra', message: cause?.message ?? err.message };
}
