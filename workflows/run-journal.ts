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
  PatchAuditResult,
  PolicyDecision,
  RunEvent,
  RunReport,
  RunRequest,
  RunState,
  RunSummary,
} from '../src/contracts';
import { RunStateKey } from '../src/temporal/search-attributes';
import { runReportSignal } from './definitions';
import { RUN_PATCHES, RunPatches } from './run-patches';

export class RunJournal {
  readonly events: RunEvent[] = [];
  state: RunState = 'pending';
  failure?: Failure;
  decision?: PolicyDecision;
  result?: ExecutionResult;
  specHash?: string;
  changeRequest?: ChangeRequest;
  approvedBy?: string;
  /** The patch audit's result, once the run has been audited before publishing. */
  audit?: PatchAuditResult;
  /** What executions before the current one cost (a run re-executed after an approved scope request). */
  priorCostUsd = 0;
  /** Every patch check of the run goes through here, so a folded patch records no marker. */
  readonly patches: RunPatches;

  constructor(private readonly request: RunRequest) {
    this.patches = new RunPatches(request.foldedPatches);
    this.events.push({ at: new Date().toISOString(), to: 'pending', note: `requested by ${request.requestedBy}` });
  }

  /**
   * Records the transition and reports it to the campaign, unless `quiet` (the campaign does not need it). True when the
   * campaign received the report; false when it was not sent, or the campaign has closed.
   */
  async transition(
    to: RunState,
    note?: string,
    report: { quiet?: boolean; permitHost?: string } = {},
  ): Promise<boolean> {
    this.events.push({ at: new Date().toISOString(), from: this.state, to, note });
    this.state = to;
    upsertSearchAttributes([{ key: RunStateKey, value: to }]);
    setCurrentDetails(`**${to}**${note ? ` — ${note}` : ''}`);
    return report.quiet ? false : this.reportToCampaign(report.permitHost);
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

  /**
   * How long the latest execution's sandbox ran, for the cost of a change request. Runs started before reports carried
   * sandbox time replay reporting without it.
   */
  private sandboxTime(): { sandboxMs?: number } {
    if (!this.result || !this.patches.has(RUN_PATCHES.sandboxTime)) return {};
    return { sandboxMs: Math.max(0, Date.parse(this.result.finishedAt) - Date.parse(this.result.startedAt)) };
  }

  /** Campaigns learn about runs by signal, so they can continue-as-new without holding child handles. */
  private async reportToCampaign(permitHost?: string): Promise<boolean> {
    const parent = workflowInfo().parent;
    if (!parent) return false;
    const report: RunReport = {
      runId: this.request.runId,
      repo: this.request.target.repo,
      url: this.request.target.url,
      owner: this.request.target.owner,
      state: this.state,
      failure: this.failure,
      costUsd: this.priorCostUsd + (this.result?.cost.usd ?? 0),
      changeRequestUrl: this.changeRequest?.url,
      ...(permitHost ? { permitHost } : {}),
      ...this.sandboxTime(),
    };
    try {
      // Reported even while the run is being cancelled, so the campaign's counts stay true.
      await CancellationScope.nonCancellable(() =>
        getExternalWorkflowHandle(parent.workflowId).signal(runReportSignal, report),
      );
      return true;
    } catch {
      // The campaign has closed (a publish retried after it finished): the run's own record still holds the truth.
      return false;
    }
  }
}
