/**
 * RunWorkflow (`run/<campaignId>/<repo>`): one repository's change, from request to evidence.
 * It builds the immutable ExecutionSpec, leases the work to the execution queue and checks what comes back.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  TimeoutFailure,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { ExecutionResult, ExecutionSpec, Failure, RunEvent, RunRequest, RunState, RunSummary } from '../src/contracts';
import { hashSpec } from '../src/contracts/hash';
import { RunStateKey } from '../src/temporal/search-attributes';
import { runStatusQuery } from './definitions';
import { buildExecutionSpec } from './execution-spec';

interface ExecutionActivities {
  executeRun(spec: ExecutionSpec): Promise<ExecutionResult>;
}

/** The run's append-only record: every transition is kept, with the moment it happened. */
class RunJournal {
  readonly events: RunEvent[] = [];
  state: RunState = 'pending';
  failure?: Failure;
  result?: ExecutionResult;
  specHash?: string;

  constructor(private readonly request: RunRequest) {
    this.events.push({ at: new Date().toISOString(), to: 'pending', note: `requested by ${request.requestedBy}` });
  }

  transition(to: RunState, note?: string): void {
    this.events.push({ at: new Date().toISOString(), from: this.state, to, note });
    this.state = to;
    upsertSearchAttributes([{ key: RunStateKey, value: to }]);
    setCurrentDetails(`**${to}**${note ? ` — ${note}` : ''}`);
  }

  fail(failure: Failure): void {
    this.failure = failure;
    this.transition('failed', `${failure.kind}: ${failure.message}`);
  }

  summary(): RunSummary {
    return {
      runId: this.request.runId,
      repo: this.request.target.repo,
      state: this.state,
      failure: this.failure,
      touchedFiles: this.result?.touchedFiles ?? [],
      specHash: this.specHash,
      manifest: this.result?.manifest,
      events: [...this.events],
    };
  }
}

export async function RunWorkflow(request: RunRequest): Promise<RunSummary> {
  const journal = new RunJournal(request);
  setHandler(runStatusQuery, () => journal.summary());

  const spec = buildExecutionSpec(request);
  journal.specHash = hashSpec(spec);

  const { executeRun } = proxyActivities<ExecutionActivities>({
    taskQueue: request.queues.execution,
    // The heartbeat timeout is the lease: a worker that stops heartbeating loses the run to another worker.
    heartbeatTimeout: '30 seconds',
    startToCloseTimeout: spec.limits.runTimeoutMs + 60_000,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: 3, initialInterval: '2 seconds', nonRetryableErrorTypes: ['ContractViolation'] },
    summary: `execute ${request.target.repo} in a sandbox`,
  });

  journal.transition('executing', `attempting in a sandbox on ${request.queues.execution}`);
  try {
    const result = await executeRun(spec);
    recordEvidence(journal, result);
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => journal.transition('cancelled', 'campaign or operator cancelled the run'));
      throw err;
    }
    journal.fail(classifyActivityFailure(err));
  }
  return journal.summary();
}

/** Evidence is accepted only from an attempt that executed exactly this spec. */
function recordEvidence(journal: RunJournal, result: ExecutionResult): void {
  journal.result = result;
  if (result.specHash !== journal.specHash) {
    journal.fail({ kind: 'policy', message: `evidence is for spec ${result.specHash}, expected ${journal.specHash}; discarded` });
    return;
  }
  if (result.outcome === 'failed') {
    journal.fail(result.failure ?? { kind: 'infra', message: 'execution failed without a reason' });
    return;
  }
  const files = result.touchedFiles.length;
  journal.transition(
    result.outcome,
    result.outcome === 'changed' ? `${files} file(s) changed on ${result.worker.identity}` : `nothing to change (${result.worker.identity})`,
  );
}

function classifyActivityFailure(err: unknown): Failure {
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    if (cause instanceof TimeoutFailure) return { kind: 'timeout', message: `execution lease expired (${cause.timeoutType})` };
    if (cause instanceof ApplicationFailure) return { kind: 'infra', message: `${cause.type ?? 'Error'}: ${cause.message}` };
    return { kind: 'infra', message: cause?.message ?? err.message };
  }
  throw err;
}

