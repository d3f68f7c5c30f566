/** Finding campaigns and their runs through visibility, on the search attributes they are started with. */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { RunState } from '../contracts';
import { CampaignIdKey, OwnerKey, RepositoryKey, RunStateKey, TaskTypeKey } from '../temporal/search-attributes';

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

/** Runs of a campaign, found through visibility on the CampaignId, RunState, Repository and Owner attributes. */
export async function listRuns(temporal: Client, campaignId: string, filter: RunFilter = {}): Promise<RunListing[]> {
  const clauses = [`WorkflowType = 'RunWorkflow'`, `${CampaignIdKey.name} = ${quote(campaignId)}`];
  if (filter.state) clauses.push(`${RunStateKey.name} = ${quote(filter.state)}`);
  if (filter.repo) clauses.push(`${RepositoryKey.name} = ${quote(filter.repo)}`);
  if (filter.owner) clauses.push(`${OwnerKey.name} = ${quote(filter.owner)}`);
  const runs: RunListing[] = [];
  for await (const wf of temporal.workflow.list({ query: clauses.join(' AND ') })) {
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
export async function listCampaigns(temporal: Client, filter: CampaignFilter = {}): Promise<CampaignListing[]> {
  const limit = filter.limit ?? DEFAULT_CAMPAIGN_LIST_LIMIT;
  // Earlier runs of a continued-as-new campaign carry its start time; the latest carries its status.
  const statuses = filter.running ? ` AND (ExecutionStatus = 'Running' OR ExecutionStatus = 'ContinuedAsNew')` : '';
  const chains = new Map<string, WorkflowExecutionInfo[]>();
  for await (const wf of temporal.workflow.list({ query: `WorkflowType = 'CampaignWorkflow'${statuses}` })) {
    chains.set(wf.workflowId, [...(chains.get(wf.workflowId) ?? []), wf]);
  }
  const campaigns = [...chains.values()]
    .map(campaignOfChain)
    .filter((c): c is Omit<CampaignListing, 'runs'> => c !== undefined && (!filter.running || c.status === 'RUNNING'))
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt) || a.campaignId.localeCompare(b.campaignId))
    .slice(0, limit);
  const runs = await runCountsOf(
    temporal,
    campaigns.map((c) => c.campaignId),
  );
  return campaigns.map((c) => ({ ...c, runs: runs.get(c.campaignId) ?? { total: 0, byState: {} } }));
}

async function runCountsOf(
  temporal: Client,
  campaignIds: readonly string[],
): Promise<Map<string, CampaignListing['runs']>> {
  const counts = new Map<string, CampaignListing['runs']>();
  if (campaignIds.length === 0) return counts;
  const seen = new Set<string>();
  const query = `WorkflowType = 'RunWorkflow' AND ${CampaignIdKey.name} IN (${campaignIds.map(quote).join(', ')})`;
  for await (const wf of temporal.workflow.list({ query })) {
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
