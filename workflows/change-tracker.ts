/**
 * ChangeTrackerWorkflow (`tracker/<campaignId>`): after a campaign publishes, polls its change requests until each is
 * merged or closed (or tracking ends), and answers the campaign's burndown.
 */
import { allHandlersFinished, condition, continueAsNew, defineQuery, proxyActivities, setCurrentDetails, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { Burndown, CampaignResult, ChangeRequest, TaskQueues, TrackedChange } from '../src/contracts';

type Counts = CampaignResult['counts'];

export const burndownQuery = defineQuery<Burndown>('burndown');

export interface ChangeTrackerInput {
  campaignId: string;
  counts: Counts;
  changes: TrackedChange[];
  queues: TaskQueues;
  pollMs: number;
  /** Stop tracking at this time (epoch ms), merged or not. */
  untilMs: number;
  latest?: Record<string, ChangeRequest | null>;
}

interface TrackingActivities {
  changeRequestStates(changes: TrackedChange[]): Promise<Record<string, ChangeRequest | null>>;
}

export async function ChangeTrackerWorkflow(input: ChangeTrackerInput): Promise<Burndown> {
  const { changeRequestStates } = proxyActivities<TrackingActivities>({ taskQueue: input.queues.control, startToCloseTimeout: '5 minutes' });
  let latest = input.latest ?? {};
  let checkedAt: string | undefined;
  const burndown = () => computeBurndown(input, latest, checkedAt);
  setHandler(burndownQuery, burndown);

  for (;;) {
    latest = await changeRequestStates(input.changes);
    checkedAt = new Date().toISOString();
    const b = burndown();
    setCurrentDetails(`done ${b.done}, open ${b.open} (${b.checksFailing} with failing checks), pending ${b.pending}, failed ${b.failed}`);
    const allClosed = input.changes.every((c) => latest[c.repo] && latest[c.repo]!.state !== 'open');
    if (allClosed || Date.now() >= input.untilMs) return b;
    await sleep(input.pollMs);
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof ChangeTrackerWorkflow>({ ...input, latest });
    }
  }
}

export function computeBurndown(input: Pick<ChangeTrackerInput, 'campaignId' | 'counts' | 'changes'>, latest: Record<string, ChangeRequest | null>, checkedAt?: string): Burndown {
  const { counts } = input;
  const changes = input.changes.map((c) => {
    const cr = latest[c.repo];
    return { repo: c.repo, state: cr ? cr.state : ('missing' as const), checks: cr?.checks, url: cr?.url };
  });
  const merged = changes.filter((c) => c.state === 'merged').length;
  const closed = changes.filter((c) => c.state === 'closed' || c.state === 'missing').length;
  const open = changes.filter((c) => c.state === 'open');
  return {
    campaignId: input.campaignId,
    done: merged + (counts.no_changes ?? 0),
    open: open.length,
    checksFailing: open.filter((c) => c.checks === 'failing').length,
    pending: (counts.pending ?? 0) + (counts.executing ?? 0) + (counts.needs_approval ?? 0) + (counts.publishing ?? 0),
    failed: closed + (counts.failed ?? 0) + (counts.publish_failed ?? 0),
    changes,
    checkedAt,
  };
}
