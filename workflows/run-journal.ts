/** A run's append-only record: every transition is kept, mirrored to search attributes, the UI and the campaign. */
import {
  CancellationScope,
  getExternalWorkflowHandle,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  ChangeRequest,
  ExecutionResult,
  Failure,
  PolicyDecision,
  RunEvent,
  RunRequest,
  RunState,
  RunSummary,
} from '../src/contracts';
import { RunStateKey } from '../src/temporal/search-attributes';
import { runReportSignal } from './definitions';

export class RunJournal {
  readonly events: RunEvent[] = [];
  state: RunState = 'pending';
  failure?: Failure;
  decision?: PolicyDecision;
  result?: ExecutionResult;
  specHash?: string;
  changeRequest?: ChangeRequest;
  approvedBy?: string;
  /** What executions before the current one cost (a run re-executed after an approved scope request). */
  priorCostUsd = 0;

  constructor(private readonly request: RunRequest) {
    this.events.push({ at: new Date().toISOString(), to: 'pending', note: `requested by ${request.requestedBy}` });
  }

  async transition(to: RunState, note?: string): Promise<void> {
    this.events.push({ at: new Date().toISOString(), from: this.state, to, note });
    this.state = to;
    upsertSearchAttributes([{ key: RunStateKey, value: to }]);
    setCurrentDetails(`**${to}**${note ? ` — ${note}` : ''}`);
    await this.reportToCampaign();
  }

  async fail(failure: Failure): Promise<void> {
    this.failure = failure;
    await this.transition('failed', `${failure.kind}: ${failure.message}`);
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

  /** Campaigns learn about runs by signal, so they can continue-as-new without holding child handles. */
  private async reportToCampaign(): Promise<void> {
    const parent = workflowInfo().parent;
    if (!parent) return;
    const report = {
      runId: this.request.runId,
      repo: this.request.target.repo,
      url: this.request.target.url,
      owner: this.request.target.owner,
      state: this.state,
      failure: this.failure,
      costUsd: this.priorCostUsd + (this.result?.cost.usd ?? 0),
      changeRequestUrl: this.changeRequest?.url,
    };
    try {
      // Reported even while the run is being cancelled, so the campaign's counts stay true.
      await CancellationScope.nonCancellable(() =>
        getExternalWorkflowHandle(parent.workflowId).signal(runReportSignal, report),
      );
    } catch {
      // The campaign has closed (a publish retried after it finished): the run's own record still holds the truth.
    }
  }
}
