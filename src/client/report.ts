/**
 * `regatta report`: what the change requests of every campaign started in a period became (opened, merged, closed,
 * reverted; merge rate, time to merge, cost per published and per merged change), in all, by task type and by owner.
 * Campaigns are found through visibility; each rollout's change requests are measured on the forge now, through a short
 * workflow on the control queue (the control worker holds the forge's credentials, the client does not).
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { ChangeCounts, ChangeOutcomes, WaveFigures } from '../contracts';
import { addCounts, outcomesOf } from '../rollout/figures';
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
    /** Absent for a campaign without a rollout, or one whose workflow did not answer (named in `unmeasured`). */
    outcomes?: ChangeOutcomes;
  }[];
  total: ChangeOutcomes;
  byTaskType: ReportRow[];
  byOwner: ReportRow[];
  /** Campaigns in the period whose change requests could not be measured, and why. */
  unmeasured: { campaignId: string; reason: string }[];
}

export interface ReportSource {
  temporal: Client;
  queues: { control: string };
  listCampaigns(filter: { limit: number }): Promise<CampaignListing[]>;
  campaignProgress(campaignId: string): Promise<CampaignProgress>;
}

/** Campaigns listed at most: a report over more names its period more narrowly. */
const REPORT_CAMPAIGN_LIMIT = 1000;

interface Tally {
  counts: ChangeCounts;
  costUsd: number;
  campaigns: Set<string>;
}

const noCounts = (): ChangeCounts => ({
  opened: 0,
  merged: 0,
  open: 0,
  closedUnmerged: 0,
  checksFailing: 0,
  reverted: 0,
  mergeDurationsMs: [],
});

function add(tallies: Map<string, Tally>, key: string, campaignId: string, counts: ChangeCounts, costUsd: number) {
  const tally = tallies.get(key) ?? { counts: noCounts(), costUsd: 0, campaigns: new Set<string>() };
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
    let progress: CampaignProgress;
    try {
      progress = await source.campaignProgress(c.campaignId);
    } catch (err) {
      unmeasured.push({ campaignId: c.campaignId, reason: (err as Error).message });
      continue;
    }
    const waves = progress.rollout?.waves;
    if (!waves) {
      unmeasured.push({ campaignId: c.campaignId, reason: 'no rollout: its change requests are not tracked per wave' });
      continue;
    }
    const figures: WaveFigures[] = await source.temporal.workflow.execute<typeof MeasureChangesWorkflow>(
      'MeasureChangesWorkflow',
      {
        workflowId: `measure/report/${c.campaignId}/${randomUUID()}`,
        taskQueue: source.queues.control,
        args: [{ queues: source.queues, groups: waves.map((w) => w.changes) }],
      },
    );
    const sandboxUsd = (ms: number) => (ms / 3_600_000) * period.sandboxPricePerHour;
    let counts = noCounts();
    let costUsd = 0;
    waves.forEach((wave, i) => {
      counts = addCounts(counts, figures[i]);
      costUsd += wave.spentUsd + sandboxUsd(wave.sandboxMs);
      const owners = new Set([...Object.keys(figures[i].byOwner ?? {}), ...Object.keys(wave.spentByOwner ?? {})]);
      for (const owner of owners)
        add(byOwner, owner, c.campaignId, figures[i].byOwner?.[owner] ?? noCounts(), wave.spentByOwner?.[owner] ?? 0);
    });
    row.outcomes = outcomesOf(counts, costUsd);
    add(total, 'all', c.campaignId, counts, costUsd);
    add(byTaskType, c.taskType ?? 'unknown', c.campaignId, counts, costUsd);
  }
  const all = total.get('all');
  return {
    since: period.since.toISOString(),
    until: period.until.toISOString(),
    sandboxPricePerHour: period.sandboxPricePerHour,
    campaigns,
    total: outcomesOf(all?.counts ?? noCounts(), all?.costUsd ?? 0),
    byTaskType: rows(byTaskType),
    byOwner: rows(byOwner),
    unmeasured,
  };
}
