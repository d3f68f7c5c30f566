/**
 * RegattaClient: the typed TypeScript SDK over the Temporal client. Start campaigns, follow them,
 * and find their runs through the search attributes.
 */
import {
  ApplicationFailure,
  Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import {
  CampaignSpec,
  type Burndown,
  type CampaignInput,
  type CampaignResult,
  type RunReport,
  type RunState,
  type RunSummary,
} from '../contracts';
import { ContractViolationError, parseContract } from '../contracts/validate';
import { artifactStoreFor, type ArtifactStore } from '../artifacts';
import { PAGE_SIZE, storeTargetPages } from '../artifacts/pages';
import { loadConfig, type RegattaConfig } from '../config';
import { campaignWorkflowId, changeTrackerWorkflowId, workflowUiUrl } from '../temporal/ids';
import type { CampaignWorkflow } from '../../workflows/campaign';
import { computeBurndown } from '../../workflows/change-tracker';
import { CampaignIdKey, OwnerKey, RepositoryKey, RunStateKey, TaskTypeKey } from '../temporal/search-attributes';
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
import { callerIdentity, withRequester } from './identity';
import { pricedOutcomes } from '../rollout/figures';
import { changeReport, type ChangeReport } from './report';
import { RegattaSchedules } from './schedules';
import {
  CampaignNotFoundError,
  CampaignSpecConflictError,
  InvalidSpecError,
  RunNotAwaitingError,
  RunNotFoundError,
} from './errors';
import { hashSpec } from '../contracts/hash';

export * from './errors';
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

export interface StartedCampaign {
  campaignId: string;
  workflowId: string;
  /** false when a campaign with this id already existed and was reused. */
  started: boolean;
  uiUrl: string;
}

export interface RunListing {
  runId: string;
  repo: string;
  state: RunState | 'unknown';
  owner?: string;
  status: string;
}

export interface RunFilter {
  state?: RunState;
  repo?: string;
  owner?: string;
}

export interface CampaignListing {
  campaignId: string;
  workflowId: string;
  /** The campaign workflow's status as Temporal names it: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT. */
  status: string;
  /** When the campaign started (its first workflow run, through any continue-as-new). */
  startedAt: string;
  closedAt?: string;
  taskType?: string;
  /** Runs admitted so far, and how many are in each state, from their search attributes. */
  runs: { total: number; byState: Partial<Record<RunState | 'unknown', number>> };
}

export interface CampaignFilter {
  /** Only campaigns whose workflow is still running (paused ones included). */
  running?: boolean;
  /** At most this many, newest first; default 20. */
  limit?: number;
}

export const DEFAULT_CAMPAIGN_LIST_LIMIT = 20;

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

const SPEC_HASH_MEMO = 'specHash';

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

  /**
   * Validates the spec, then starts the campaign; starting an existing campaign id returns that campaign.
   * The run records who asked: the client's `requestedBy`, else the spec's, else the OS user.
   */
  async startCampaign(specInput: unknown, source?: string): Promise<StartedCampaign> {
    const spec = validateCampaignSpec(
      withRequester(specInput, { explicit: this.options.requestedBy, fallback: callerIdentity() }),
      source,
    );
    const workflowId = campaignWorkflowId(spec.id);
    // Who asks does not make it another campaign; what it would do does.
    const specHash = hashSpec({ ...spec, requestedBy: undefined });
    const input = await this.campaignInput(spec, specHash);
    let started = true;
    try {
      await this.temporal.workflow.start<typeof CampaignWorkflow>('CampaignWorkflow', {
        workflowId,
        taskQueue: this.options.queues.control,
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: CampaignIdKey, value: spec.id },
          { key: TaskTypeKey, value: spec.taskType },
        ],
        staticSummary: `Campaign ${spec.id}: ${spec.title}`,
        staticDetails: `${spec.targets.length} target(s)${input.targetPages ? ` (${input.targetPages.refs.length + 1} pages of ${PAGE_SIZE})` : ''}, task ${spec.taskType}, requested by ${spec.requestedBy}${spec.preview ? ', preview' : ''}`,
        memo: { [SPEC_HASH_MEMO]: specHash },
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      started = false;
      const existing = await this.startedSpecHash(workflowId);
      if (existing !== undefined && existing !== specHash) throw new CampaignSpecConflictError(spec.id);
    }
    return { campaignId: spec.id, workflowId, started, uiUrl: this.campaignUiUrl(spec.id) };
  }

  /** A campaign larger than one page passes the rest of its targets by reference, stored before it starts. */
  private async campaignInput(spec: CampaignSpec, specHash: string): Promise<CampaignInput> {
    const requestedAt = new Date().toISOString();
    if (spec.targets.length <= PAGE_SIZE) return { spec, queues: this.options.queues, requestedAt };
    const refs = await storeTargetPages(this.artifacts, spec.id, specHash, spec.targets);
    return {
      spec: { ...spec, targets: spec.targets.slice(0, PAGE_SIZE) },
      queues: this.options.queues,
      requestedAt,
      targetPages: { total: spec.targets.length, refs },
    };
  }

  /** The spec hash a campaign was started with, from its first run's memo (continue-as-new runs may not carry it). */
  private async startedSpecHash(workflowId: string): Promise<string | undefined> {
    const latest = await this.temporal.workflow.getHandle(workflowId).describe();
    const fromMemo = (d: { memo?: Record<string, unknown> }) => d.memo?.[SPEC_HASH_MEMO] as string | undefined;
    if (fromMemo(latest)) return fromMemo(latest);
    const firstRunId = latest.raw.workflowExecutionInfo?.firstRunId;
    return firstRunId ? fromMemo(await this.temporal.workflow.getHandle(workflowId, firstRunId).describe()) : undefined;
  }

  async campaignResult(campaignId: string): Promise<CampaignResult> {
    return this.priced(await this.withCampaign(campaignId, (handle) => handle.result() as Promise<CampaignResult>));
  }

  async campaignProgress(campaignId: string): Promise<CampaignProgress> {
    return this.priced(await this.withCampaign(campaignId, (handle) => handle.query(campaignProgressQuery)));
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
      handle.executeUpdate(cancelCampaignUpdate, { args: [{ by, reason }] }),
    );
  }

  /**
   * What the change requests of every campaign started in [since, until) became, measured on the forge now: in all, by
   * task type and by owner (see src/client/report.ts).
   */
  async changeReport(period: { since: Date; until?: Date; sandboxPricePerHour?: number }): Promise<ChangeReport> {
    return changeReport(this, {
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
      handle.executeUpdate(advanceWaveUpdate, { args: [{ by, ...(reason ? { reason } : {}) }] }),
    );
  }

  /** Stops the rollout after the current wave: targets not yet admitted are skipped; recorded with who and why. */
  async abortWave(campaignId: string, by: string, reason?: string): Promise<RolloutProgress> {
    return this.withCampaign(campaignId, (handle) =>
      handle.executeUpdate(abortWaveUpdate, { args: [{ by, ...(reason ? { reason } : {}) }] }),
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
      return await this.temporal.workflow.getHandle(runId).executeUpdate(retryPublishUpdate, { args: [{ by }] });
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
    const clauses = [`WorkflowType = 'RunWorkflow'`, `${CampaignIdKey.name} = ${quote(campaignId)}`];
    if (filter.state) clauses.push(`${RunStateKey.name} = ${quote(filter.state)}`);
    if (filter.repo) clauses.push(`${RepositoryKey.name} = ${quote(filter.repo)}`);
    if (filter.owner) clauses.push(`${OwnerKey.name} = ${quote(filter.owner)}`);
    const runs: RunListing[] = [];
    for await (const wf of this.temporal.workflow.list({ query: clauses.join(' AND ') })) {
      const attrs = wf.typedSearchAttributes;
      runs.push({
        runId: wf.workflowId,
        repo: attrs.get(RepositoryKey) ?? wf.workflowId,
        state: (attrs.get(RunStateKey) as RunState | undefined) ?? 'unknown',
        owner: attrs.get(OwnerKey),
        status: wf.status.name,
      });
    }
    return runs.sort((a, b) => a.repo.localeCompare(b.repo));
  }

  /**
   * Campaigns, newest first, found through visibility (no worker is asked, so campaigns whose workers are gone list too),
   * with the runs each has admitted counted by RunState: one list of campaign workflows and one of their runs.
   */
  async listCampaigns(filter: CampaignFilter = {}): Promise<CampaignListing[]> {
    const limit = filter.limit ?? DEFAULT_CAMPAIGN_LIST_LIMIT;
    // Earlier runs of a continued-as-new campaign carry its start time; the latest carries its status.
    const statuses = filter.running ? ` AND (ExecutionStatus = 'Running' OR ExecutionStatus = 'ContinuedAsNew')` : '';
    const chains = new Map<string, WorkflowExecutionInfo[]>();
    for await (const wf of this.temporal.workflow.list({ query: `WorkflowType = 'CampaignWorkflow'${statuses}` })) {
      chains.set(wf.workflowId, [...(chains.get(wf.workflowId) ?? []), wf]);
    }
    const campaigns = [...chains.values()]
      .map(campaignOfChain)
      .filter((c): c is Omit<CampaignListing, 'runs'> => c !== undefined && (!filter.running || c.status === 'RUNNING'))
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt) || a.campaignId.localeCompare(b.campaignId))
      .slice(0, limit);
    const runs = await this.runCountsOf(campaigns.map((c) => c.campaignId));
    return campaigns.map((c) => ({ ...c, runs: runs.get(c.campaignId) ?? { total: 0, byState: {} } }));
  }

  private async runCountsOf(campaignIds: readonly string[]): Promise<Map<string, CampaignListing['runs']>> {
    const counts = new Map<string, CampaignListing['runs']>();
    if (campaignIds.length === 0) return counts;
    const seen = new Set<string>();
    const query = `WorkflowType = 'RunWorkflow' AND ${CampaignIdKey.name} IN (${campaignIds.map(quote).join(', ')})`;
    for await (const wf of this.temporal.workflow.list({ query })) {
      const campaignId = wf.typedSearchAttributes.get(CampaignIdKey);
      if (!campaignId || seen.has(wf.workflowId)) continue;
      seen.add(wf.workflowId);
      const state = (wf.typedSearchAttributes.get(RunStateKey) as RunState | undefined) ?? 'unknown';
      const entry = counts.get(campaignId) ?? { total: 0, byState: {} };
      entry.total++;
      entry.byState[state] = (entry.byState[state] ?? 0) + 1;
      counts.set(campaignId, entry);
    }
    return counts;
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
    try {
      return await this.temporal.workflow
        .getHandle(campaignWorkflowId(campaignId))
        .executeUpdate(update, { args: [{ runId, by, comment }] });
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

export function validateCampaignSpec(input: unknown, source?: string): CampaignSpec {
  try {
    return parseContract(CampaignSpec, input, 'campaign spec');
  } catch (err) {
    if (err instanceof ContractViolationError) throw new InvalidSpecError(err, source);
    throw err;
  }
}

/** An update refused by its validator becomes a RunNotAwaitingError carrying the workflow's own explanation. */
function asRefusal(err: unknown): unknown {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure)
    return new RunNotAwaitingError(err.cause.message);
  return err;
}

/** One campaign from the workflow runs of its id: the first start, and the latest run's status. */
function campaignOfChain(chain: readonly WorkflowExecutionInfo[]): Omit<CampaignListing, 'runs'> | undefined {
  const byStart = [...chain].sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  const latest = [...byStart].reverse().find((wf) => wf.status.name !== 'CONTINUED_AS_NEW') ?? byStart.at(-1);
  if (!latest) return undefined;
  return {
    campaignId: latest.typedSearchAttributes.get(CampaignIdKey) ?? latest.workflowId,
    workflowId: latest.workflowId,
    status: latest.status.name,
    startedAt: byStart[0].startTime.toISOString(),
    closedAt: latest.closeTime?.toISOString(),
    taskType: latest.typedSearchAttributes.get(TaskTypeKey),
  };
}

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
