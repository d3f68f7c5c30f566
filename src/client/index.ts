/**
 * RegattaClient: the typed TypeScript SDK over the Temporal client. Start campaigns, follow them,
 * and find their runs through the search attributes.
 */
import { ApplicationFailure, Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Burndown, CampaignResult, RunReport, RunState, RunSummary } from '../contracts';
import { artifactStoreFor, type ArtifactStore } from '../artifacts';
import { loadConfig, type RegattaConfig } from '../config';
import { campaignWorkflowId, changeTrackerWorkflowId, isReexecutionWorkflowId, workflowUiUrl } from '../temporal/ids';
import { computeBurndown } from '../../workflows/change-tracker';
import {
  abortWaveUpdate,
  advanceWaveUpdate,
  approveRunUpdate,
  burndownQuery,
  campaignProgressQuery,
  cancelCampaignUpdate,
  pauseCampaignSignal,
  rejectRunUpdate,
  resumeCampaignSignal,
  retryPublishUpdate,
  runStatusQuery,
  type CampaignProgress,
  type RolloutProgress,
} from '../../workflows/definitions';
import { connectTemporalClient } from './connection';
import {
  listCampaigns,
  listRuns,
  type CampaignFilter,
  type CampaignListing,
  type RunFilter,
  type RunListing,
} from './listings';
import { pricedOutcomes } from '../rollout/figures';
import { changeReport, measureEndedCampaign, type ChangeReport } from './report';
import { RegattaSchedules } from './schedules';
import { startCampaign, type StartedCampaign } from './start-campaign';
import { CampaignNotFoundError, RunNotAwaitingError, RunNotFoundError } from './errors';
import { executeUpdateOnce } from './updates';

export * from './errors';
export { validateCampaignSpec, type StartedCampaign } from './start-campaign';
export {
  DEFAULT_CAMPAIGN_LIST_LIMIT,
  type CampaignFilter,
  type CampaignListing,
  type RunFilter,
  type RunListing,
} from './listings';
export { callerIdentity } from './identity';
export { RegattaSchedules, validateScheduleSpec, type ScheduleListing } from './schedules';
export type { ChangeReport, ReportRow } from './report';
export type { CampaignProgress };
export type {
  Burndown,
  ChangeOutcomes,
  RolloutProgress,
  WaveProgress,
  WaveFigures,
  CampaignResult,
  CampaignSpec,
  CampaignSpecInput,
  RunReport,
  RunState,
  RunSummary,
} from '../contracts';

export interface RegattaClientOptions {
  queues: RegattaConfig['queues'];
  uiUrl: string;
  namespace: string;
  /** Where run artifacts are read from; the configured store when absent. */
  artifacts?: ArtifactStore;
  /** Who starts campaigns and schedules through this client, over any spec's `requestedBy`; else the spec's, else the OS user. */
  requestedBy?: string;
  /** USD per hour of sandbox time in the cost of a change request; `REGATTA_SANDBOX_PRICE_PER_HOUR` when absent. */
  sandboxPricePerHour?: number;
}

export class RegattaClient {
  readonly schedules: RegattaSchedules;
  private readonly artifacts: ArtifactStore;

  constructor(
    readonly temporal: Client,
    private readonly options: RegattaClientOptions,
  ) {
    this.schedules = new RegattaSchedules(temporal, options.queues, options.requestedBy);
    this.artifacts = options.artifacts ?? artifactStoreFor(loadConfig());
  }

  static async connect(
    config: RegattaConfig = loadConfig(),
    options: { requestedBy?: string } = {},
  ): Promise<RegattaClient> {
    const temporal = await connectTemporalClient(config.temporal);
    return new RegattaClient(temporal, {
      queues: config.queues,
      uiUrl: config.temporal.uiUrl,
      namespace: config.temporal.namespace,
      artifacts: artifactStoreFor(config),
      requestedBy: options.requestedBy,
    });
  }

  async campaignResult(campaignId: string): Promise<CampaignResult> {
    return this.priced(await this.withCampaign(campaignId, (handle) => handle.result() as Promise<CampaignResult>));
  }

  /** The campaign's progress; once it has ended, its change requests' outcomes are measured on the forge now. */
  async campaignProgress(campaignId: string): Promise<CampaignProgress> {
    const progress = await this.queriedProgress(campaignId);
    return (await measureEndedCampaign(this, progress, this.sandboxPricePerHour())) ?? this.priced(progress);
  }

  /** The progress as the campaign's workflow answers it, figures as its gate last measured them. */
  private queriedProgress(campaignId: string): Promise<CampaignProgress> {
    return this.withCampaign(campaignId, (handle) => handle.query(campaignProgressQuery));
  }

  /** Progress as it changes, until every target is admitted and every run has settled. */
  async *watchCampaign(campaignId: string, intervalMs = 1_000): AsyncGenerator<CampaignProgress> {
    let last = '';
    for (;;) {
      const progress = await this.campaignProgress(campaignId);
      const key = JSON.stringify({ ...progress, budget: undefined });
      if (key !== last) yield progress;
      last = key;
      const moving = ['pending', 'executing', 'needs_approval', 'publishing'].some(
        (s) => (progress.counts[s as RunState] ?? 0) > 0,
      );
      if (progress.admitted === progress.total && !moving) return;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  /**
   * Validates the spec, then starts the campaign; starting an existing campaign id returns that campaign.
   * The run records who asked: the client's `requestedBy`, else the spec's, else the OS user.
   */
  async startCampaign(specInput: unknown, source?: string): Promise<StartedCampaign> {
    const options = { queues: this.options.queues, artifacts: this.artifacts, requestedBy: this.options.requestedBy };
    const started = await startCampaign(this.temporal, options, specInput, source);
    return { ...started, uiUrl: this.campaignUiUrl(started.campaignId) };
  }

  /** A run's evidence file, by the URI its manifest lists, from the configured artifact store. */
  async fetchArtifact(uri: string): Promise<Buffer> {
    return this.artifacts.get(uri);
  }

  async pauseCampaign(campaignId: string, reason = 'paused by an operator'): Promise<void> {
    await this.withCampaign(campaignId, (handle) => handle.signal(pauseCampaignSignal, { reason }));
  }

  async resumeCampaign(campaignId: string): Promise<void> {
    await this.withCampaign(campaignId, (handle) => handle.signal(resumeCampaignSignal));
  }

  /** Stops admitting runs, cancels running ones (and their sandboxes), and waits until every run has settled. */
  async cancelCampaign(campaignId: string, by: string, reason?: string): Promise<CampaignProgress> {
    return this.withCampaign(campaignId, (handle) =>
      executeUpdateOnce(handle, cancelCampaignUpdate, { args: [{ by, reason }] }),
    );
  }

  /**
   * What the change requests of every campaign started in [since, until) became, measured on the forge now: in all, by
   * task type and by owner (see src/client/report.ts).
   */
  async changeReport(period: { since: Date; until?: Date; sandboxPricePerHour?: number }): Promise<ChangeReport> {
    const source = {
      temporal: this.temporal,
      queues: this.queues,
      listCampaigns: (filter: { limit: number }) => this.listCampaigns(filter),
      campaignProgress: (campaignId: string) => this.queriedProgress(campaignId),
    };
    return changeReport(source, {
      since: period.since,
      until: period.until ?? new Date(),
      sandboxPricePerHour: period.sandboxPricePerHour ?? this.sandboxPricePerHour(),
    });
  }

  /** Outcomes with sandbox time at `REGATTA_SANDBOX_PRICE_PER_HOUR` added to model spend. */
  private priced<T extends { rollout?: RolloutProgress; outcomes?: unknown }>(answer: T): T {
    if (!answer.rollout) return answer;
    return { ...answer, ...pricedOutcomes(answer.rollout, this.sandboxPricePerHour()) };
  }

  private sandboxPricePerHour(): number {
    return this.options.sandboxPricePerHour ?? loadConfig().sandboxPricePerHour;
  }

  get queues(): { control: string; execution: string } {
    return this.options.queues;
  }

  /** Starts the campaign's next wave now, whatever its gate says; recorded on the wave with who and why. */
  async advanceWave(campaignId: string, by: string, reason?: string): Promise<RolloutProgress> {
    return this.withCampaign(campaignId, (handle) =>
      executeUpdateOnce(handle, advanceWaveUpdate, { args: [{ by, ...(reason ? { reason } : {}) }] }),
    );
  }

  /** Stops the rollout after the current wave: targets not yet admitted are skipped; recorded with who and why. */
  async abortWave(campaignId: string, by: string, reason?: string): Promise<RolloutProgress> {
    return this.withCampaign(campaignId, (handle) =>
      executeUpdateOnce(handle, abortWaveUpdate, { args: [{ by, ...(reason ? { reason } : {}) }] }),
    );
  }

  async approveRun(campaignId: string, runId: string, by: string, comment?: string): Promise<RunReport> {
    return this.decide(campaignId, runId, by, comment, true);
  }

  async rejectRun(campaignId: string, runId: string, by: string, comment?: string): Promise<RunReport> {
    return this.decide(campaignId, runId, by, comment, false);
  }

  /** Publishes a run whose publishing failed again, from its stored evidence, without executing it again. */
  async retryPublish(runId: string, by: string): Promise<RunSummary> {
    try {
      return await executeUpdateOnce(this.temporal.workflow.getHandle(runId), retryPublishUpdate, { args: [{ by }] });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw await this.closedRunRefusal(runId, 'publish_failed');
      throw asRefusal(err);
    }
  }

  /** Repositories done, open, pending and failed, from the campaign's change tracker (or its progress before it publishes). */
  async campaignBurndown(campaignId: string): Promise<Burndown> {
    try {
      return await this.temporal.workflow.getHandle(changeTrackerWorkflowId(campaignId)).query(burndownQuery);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      const progress = await this.campaignProgress(campaignId);
      return computeBurndown({ campaignId, counts: progress.counts, changes: [] }, {});
    }
  }

  async runStatus(runId: string): Promise<RunSummary> {
    try {
      return await this.temporal.workflow.getHandle(runId).query(runStatusQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new RunNotFoundError(runId);
      throw err;
    }
  }

  /** Runs of a campaign, found through visibility on the CampaignId, RunState, Repository and Owner attributes. */
  async listRuns(campaignId: string, filter: RunFilter = {}): Promise<RunListing[]> {
    return listRuns(this.temporal, campaignId, filter);
  }

  /**
   * Campaigns, newest first, found through visibility (no worker is asked, so campaigns whose workers are gone list too),
   * with the runs each has admitted counted by RunState: one list of campaign workflows and one of their runs.
   */
  async listCampaigns(filter: CampaignFilter = {}): Promise<CampaignListing[]> {
    return listCampaigns(this.temporal, filter);
  }

  campaignUiUrl(campaignId: string): string {
    return workflowUiUrl(this.options.uiUrl, this.options.namespace, campaignWorkflowId(campaignId));
  }

  async close(): Promise<void> {
    await this.temporal.connection.close();
  }

  private async decide(
    campaignId: string,
    runId: string,
    by: string,
    comment: string | undefined,
    approved: boolean,
  ): Promise<RunReport> {
    const update = approved ? approveRunUpdate : rejectRunUpdate;
    // A run executed again on a moved base is its change tracker's child: the tracker takes the same updates.
    const decider = isReexecutionWorkflowId(runId)
      ? changeTrackerWorkflowId(campaignId)
      : campaignWorkflowId(campaignId);
    try {
      return await executeUpdateOnce(this.temporal.workflow.getHandle(decider), update, {
        args: [{ runId, by, comment }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw asRefusal(err);
      await this.temporal.workflow
        .getHandle(campaignWorkflowId(campaignId))
        .describe()
        .catch((missing: unknown) => {
          throw missing instanceof WorkflowNotFoundError ? new CampaignNotFoundError(campaignId) : missing;
        });
      throw await this.closedRunRefusal(runId, 'awaiting approval');
    }
  }

  /** Updates cannot reach a closed workflow; say what state the run ended in instead. */
  private async closedRunRefusal(runId: string, wanted: string): Promise<Error> {
    const run = await this.runStatus(runId);
    return new RunNotAwaitingError(`run ${runId} is ${run.state}, not ${wanted}; its workflow has finished`);
  }

  private async withCampaign<T>(
    campaignId: string,
    use: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<T>,
  ): Promise<T> {
    try {
      return await use(this.temporal.workflow.getHandle(campaignWorkflowId(campaignId)));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new CampaignNotFoundError(campaignId);
      throw err;
    }
  }
}

/** An update refused by its validator becomes a RunNotAwaitingError carrying the workflow's own explanation. */
function asRefusal(err: unknown): unknown {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure)
    return new RunNotAwaitingError(err.cause.message);
  return err;
}
