/**
 * Executing a run's spec on the execution plane: the activity whose heartbeat is the run's lease, the wait for an
 * unreachable Docker engine, and the run's failure when no execution worker takes it.
 */
import {
  type ActivityOptions,
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  sleep,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { ExecutionResult, ExecutionSpec, Failure, RunRequest } from '../src/contracts';
import { DOCKER_ENGINE_UNAVAILABLE, NON_RETRYABLE_ERROR_TYPES } from '../src/temporal/failure-types';
import type { ExecutionActivities } from './activity-types';
import type { RunJournal } from './run-journal';
import { RUN_PATCHES } from './run-patches';

const DEFAULT_ENGINE_WAIT_MS = 10 * 60_000;
const ENGINE_RETRY_FIRST_MS = 5_000;
const ENGINE_RETRY_MAX_MS = 60_000;

/** Executes `spec`, moving the run to executing; undefined when the run has failed (its journal says why). */
export async function execute(
  run: RunJournal,
  request: RunRequest,
  spec: ExecutionSpec,
  why?: string,
): Promise<ExecutionResult | undefined> {
  const options: ActivityOptions = {
    taskQueue: request.queues.execution,
    // The heartbeat timeout is the lease: a worker that stops heartbeating loses the run to another worker.
    heartbeatTimeout: request.leaseTimeoutMs,
    startToCloseTimeout: spec.limits.runTimeoutMs + 60_000,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: 3, initialInterval: '2 seconds', nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
    summary: `execute ${request.target.repo} in a sandbox (${spec.network} network)`,
  };
  // The campaign counts a run admitted and not yet settled the same whether it is pending or executing, so the first
  // execution is not reported to it (one signal fewer per run); a re-execution is, because the campaign reserves again.
  // Runs started before the first execution went unreported to the campaign replay the report they sent.
  const quiet = why === undefined && run.patches.has(RUN_PATCHES.quietFirstExecution);
  await run.transition(
    'executing',
    `on ${request.queues.execution}, policy ${spec.policy.version}${why ? `, ${why}` : ''}`,
    { quiet },
  );
  // Runs started before the engine wait replay the single call they were recorded with.
  if (!run.patches.has(RUN_PATCHES.engineWait)) {
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
      retry: { ...options.retry, nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES, DOCKER_ENGINE_UNAVAILABLE] },
      // While waiting, a retry may sit queued because every worker's engine is down: that time counts against the window too.
      // Otherwise a run waits executionStartTimeoutMs for a worker to take it, then fails as infra, naming the queue.
      scheduleToStartTimeout:
        waitingSince === undefined
          ? request.executionStartTimeoutMs
          : Math.max(1_000, waitingSince + waitMs - Date.now()),
    });
    try {
      const result = await executeRun(spec);
      if (waitingSince !== undefined)
        noteEngineWait(
          run,
          `resumed after waiting ${seconds(Date.now() - waitingSince)} for the Docker engine (${retry} retr${retry === 1 ? 'y' : 'ies'})`,
        );
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
        await run.fail({
          kind: 'infra',
          message: `the Docker engine was unavailable from ${since} for ${seconds(waited)}, past the run's dockerEngineWaitMs of ${waitMs} ms: ${reason}`,
        });
        return undefined;
      }
      const delay = Math.min(ENGINE_RETRY_FIRST_MS * 2 ** retry, ENGINE_RETRY_MAX_MS, waitMs - waited);
      const until = new Date(waitingSince + waitMs).toISOString();
      setCurrentDetails(
        `**executing** — waiting for the Docker engine since ${new Date(waitingSince).toISOString()} (${reason}); retry ${retry + 1} in ${seconds(delay)}, fails as infra at ${until}`,
      );
      log.warn(`run ${request.runId} waits for the Docker engine: ${reason}`);
      await sleep(delay);
      setCurrentDetails(
        `**executing** — retry ${retry + 1} after waiting for the Docker engine since ${new Date(waitingSince).toISOString()}`,
      );
    }
  }
}

/** Why an attempt failed for want of a Docker engine, or undefined when it failed for any other reason. */
function engineUnavailableReason(err: unknown, alreadyWaiting: boolean): string | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type === DOCKER_ENGINE_UNAVAILABLE) return cause.message;
  if (alreadyWaiting && cause instanceof TimeoutFailure && cause.timeoutType === 'SCHEDULE_TO_START')
    return 'no execution worker with a reachable Docker engine took the run';
  return undefined;
}

function noWorkerTookIt(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof TimeoutFailure &&
    err.cause.timeoutType === 'SCHEDULE_TO_START'
  );
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

function classifyActivityFailure(err: unknown): Failure {
  if (!(err instanceof ActivityFailure)) throw err;
  const cause = err.cause;
  if (cause instanceof TimeoutFailure)
    return { kind: 'timeout', message: `execution lease expired (${cause.timeoutType})` };
  if (cause instanceof ApplicationFailure)
    return { kind: 'infra', message: `${cause.type ?? 'Error'}: ${cause.message}` };
  return { kind: 'infra', message: cause?.message ?? err.message };
}
