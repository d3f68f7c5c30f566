/**
 * `regatta report`: what the change requests of every campaign started in a period became (opened, merged, closed,
 * reverted; merge rate, time to merge, cost per published and per merged change), in all, by task type and by owner.
 * Campaigns are found through visibility; each one's change requests are measured on the forge now (a rollout's wave by
 * wave, any other campaign's as its change tracker holds them), through a short workflow on the control queue (the
 * control worker holds the forge's credentials, the client does not). The adding up is src/rollout/figures.ts's.
 */
import { randomUUID } from 'node:crypto';
import { QueryNotRegisteredError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ChangeCounts, ChangeOutcomes, TargetPageRef, WaveChange, WaveFigures } from '../contracts';
import { addCounts, outcomesOf, pricedOutcomes, sumCounts, waveCostUsd } from '../rollout/figures';
import { changeTrackerWorkflowId } from '../temporal/ids';
import { trackedChangesQuery, type TrackedChanges } from '../../workflows/definitions';
import type { MeasureChangesWorkflow } from '../../workflows/measure-changes';
import type { CampaignListing, CampaignProgress } from './index';

export interface ReportRow {
  key: string;
  campaigns: number;
  outcomes: ChangeOutcomes;
}

export interface ChangeReport {
  since: string;
  until: string;
  sandboxPricePerHour: number;
  campaigns: {
    campaignId: string;
    taskType?: string;
    startedAt: string;
    status: string;
    /** Absent for a campaign whose change requests could not be measured (named in `unmeasured`). */
    outcomes?: ChangeOutcomes;
  }[];
  total: ChangeOutcomes;
  byTaskType: ReportRow[];
  byOwner: ReportRow[];
  /** Campaigns in the period whose change requests could not be measured, and why. */
  unmeasured: { campaignId: string; reason: string }[];
}

/** What measuring a campaign needs: Temporal, to ask the control worker, and the campaign's progress as it answers. */
export interface MeasureSource {
  temporal: Client;
  queues: { control: string };
}

export interface ReportSource extends MeasureSource {
  listCampaigns(filter: { limit: number }): Promise<CampaignListing[]>;
  /** The campaign's progress as its workflow answers (not measured again: the report measures). */
  campaignProgress(campaignId: string): Promise<CampaignProgress>;
}

/** A campaign's change requests as the forge has them now: its progress with the figures, and what they add up to. */
export interface MeasuredCampaign {
  progress: CampaignProgress & { outcomes: ChangeOutcomes };
  counts: ChangeCounts;
  costUsd: number;
  /**
   * Per owner, where the change requests carry one (a rollout's do, and a tracker's since tracked changes carry the
   * target's owner). A campaign without a rollout counts no spend per owner: its spend is shared out by the change
   * requests each owner's repositories were opened.
   */
  byOwner: Map<string, { counts: ChangeCounts; costUsd: number }>;
}

/** Campaigns listed at most: a report over more names its period more narrowly. */
const REPORT_CAMPAIGN_LIMIT = 1000;

/** What the forge says now of each group of change requests (and of each stored page after them). */
function measure(
  source: MeasureSource,
  campaignId: string,
  groups: WaveChange[][],
  pages: TargetPageRef[] = [],
): Promise<WaveFigures[]> {
  return source.temporal.workflow.execute<typeof MeasureChangesWorkflow>('MeasureChangesWorkflow', {
    workflowId: `measure/report/${campaignId}/${randomUUID()}`,
    taskQueue: source.queues.control,
    args: [{ queues: source.queues, groups, ...(pages.length ? { pages } : {}) }],
  });
}

/**
 * The change requests the campaign's tracker holds; undefined while it has none (the campaign has published nothing
 * yet), or when its tracker predates the query (its campaign's own figures stand).
 */
async function trackedChanges(source: MeasureSource, campaignId: string) {
  try {
    return await source.temporal.workflow.getHandle(changeTrackerWorkflowId(campaignId)).query(trackedChangesQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || err instanceof QueryNotRegisteredError) return undefined;
    throw err;
  }
}

/**
 * A campaign's change requests measured on the forge now: a rollout's wave by wave (its waves' figures replaced), any
 * other campaign's from its tracker (a running campaign's from the changes handed over so far). A campaign without a
 * rollout whose change requests no tracker lists (one started before its tracker started at its first publish and
 * still running, or an older tracker) gets the reason instead.
 */
export async function measureCampaign(
  source: MeasureSource,
  progress: CampaignProgress,
  sandboxPricePerHour: number,
  tracker?: TrackedChanges,
): Promise<MeasuredCampaign | { reason: string }> {
  const byOwner: MeasuredCampaign['byOwner'] = new Map();
  const addOwner = (owner: string, counts: ChangeCounts | undefined, costUsd: number) => {
    const prior = byOwner.get(owner) ?? { counts: sumCounts([]), costUsd: 0 };
    byOwner.set(owner, {
      counts: counts ? addCounts(prior.counts, counts) : prior.counts,
      costUsd: prior.costUsd + costUsd,
    });
  };
  if (progress.rollout) {
    const { waves } = progress.rollout;
    const figures = await measure(
      source,
      progress.campaignId,
      waves.map((w) => w.changes),
    );
    const priced = pricedOutcomes(
      { ...progress.rollout, waves: waves.map((w, i) => ({ ...w, figures: figures[i] })) },
      sandboxPricePerHour,
    );
    waves.forEach((wave, i) => {
      for (const owner of new Set([...Object.keys(figures[i].byOwner ?? {}), ...Object.keys(wave.spentByOwner ?? {})]))
        addOwner(owner, figures[i].byOwner?.[owner], wave.spentByOwner?.[owner] ?? 0);
    });
    return {
      progress: { ...progress, ...priced },
      counts: sumCounts(figures),
      costUsd: waves.reduce((n, w) => n + waveCostUsd(w, sandboxPricePerHour), 0),
      byOwner,
    };
  }
  const tracked = tracker ?? (await trackedChanges(source, progress.campaignId));
  if (!tracked && (progress.counts.published ?? 0) > 0)
    return {
      reason:
        'no change tracker lists its change requests yet (campaigns started before tracker-at-first-publish start it when their runs settle; older trackers do not)',
    };
  const figures = tracked ? await measure(source, progress.campaignId, [tracked.changes], tracked.pages) : [];
  const counts = sumCounts(figures);
  const costUsd = progress.budget.spentUsd;
  for (const owned of figures.flatMap((f) => Object.entries(f.byOwner ?? {})))
    addOwner(owned[0], owned[1], counts.opened ? (costUsd * owned[1].opened) / counts.opened : 0);
  return { progress: { ...progress, outcomes: outcomesOf(counts, costUsd) }, counts, costUsd, byOwner };
}

/**
 * An ended campaign's progress with its change requests measured on the forge now (merges, closes and reverts after its
 * last wave count); undefined while it runs (its tracker, if started, says the campaign is open): its own figures stand.
 */
export async function measureEndedCampaign(
  source: MeasureSource,
  progress: CampaignProgress,
  sandboxPricePerHour: number,
): Promise<CampaignProgress | undefined> {
  const tracked = await trackedChanges(source, progress.campaignId);
  if (!tracked || tracked.campaignOpen) return undefined;
  const measured = await measureCampaign(source, progress, sandboxPricePerHour, tracked);
  return 'reason' in measured ? undefined : measured.progress;
}

interface Tally {
  counts: ChangeCounts;
  costUsd: number;
  campaigns: Set<string>;
}

function add(tallies: Map<string, Tally>, key: string, campaignId: string, counts: ChangeCounts, costUsd: number) {
  const tally = tallies.get(key) ?? { counts: sumCounts([]), costUsd: 0, campaigns: new Set<string>() };
  tally.counts = addCounts(tally.counts, counts);
  tally.costUsd += costUsd;
  tally.campaigns.add(campaignId);
  tallies.set(key, tally);
}

const rows = (tallies: Map<string, Tally>): ReportRow[] =>
  [...tallies.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, t]) => ({ key, campaigns: t.campaigns.size, outcomes: outcomesOf(t.counts, t.costUsd) }));

export async function changeReport(
  source: ReportSource,
  period: { since: Date; until: Date; sandboxPricePerHour: number },
): Promise<ChangeReport> {
  const listed = (await source.listCampaigns({ limit: REPORT_CAMPAIGN_LIMIT })).filter((c) => {
    const started = Date.parse(c.startedAt);
    return started >= period.since.getTime() && started < period.until.getTime();
  });
  const total = new Map<string, Tally>();
  const byTaskType = new Map<string, Tally>();
  const byOwner = new Map<string, Tally>();
  const campaigns: ChangeReport['campaigns'] = [];
  const unmeasured: ChangeReport['unmeasured'] = [];
  for (const c of listed) {
    const row: ChangeReport['campaigns'][number] = {
      campaignId: c.campaignId,
      taskType: c.taskType,
      startedAt: c.startedAt,
      status: c.status,
    };
    campaigns.push(row);
    let measured: Awaited<ReturnType<typeof measureCampaign>>;
    try {
      measured = await measureCampaign(source, await source.campaignProgress(c.campaignId), period.sandboxPricePerHour);
    } catch (err) {
      unmeasured.push({ campaignId: c.campaignId, reason: (err as Error).message });
      continue;
    }
    if ('reason' in measured) {
      unmeasured.push({ campaignId: c.campaignId, reason: measured.reason });
      continue;
    }
    row.outcomes = measured.progress.outcomes;
    add(total, 'all', c.campaignId, measured.counts, measured.costUsd);
    add(byTaskType, c.taskType ?? 'unknown', c.campaignId, measured.counts, measured.costUsd);
    for (const [owner, o] of measured.byOwner) add(byOwner, owner, c.campaignId, o.counts, o.costUsd);
  }
  const all = total.get('all');
  return {
    since: period.since.toISOString(),
    until: period.until.toISOString(),
    sandboxPricePerHour: period.sandboxPricePerHour,
    campaigns,
    total: outcomesOf(all?.counts ?? sumCounts([]), all?.costUsd ?? 0),
    byTaskType: rows(byTaskType),
    byOwner: rows(byOwner),
    unmeasured,
  };
}
