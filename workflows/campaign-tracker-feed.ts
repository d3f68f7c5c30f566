/**
 * The campaign's side of its change tracker (patch `tracker-at-first-publish`): the tracker starts at the campaign's
 * first published change request and is handed each later one as it is published, so a rollout holding between waves
 * for days already rebases, automerges and watches its early change requests (an automerged canary counts toward the
 * gate). When the campaign ends the tracker gets the final counts and its tracking window. What was handed over is
 * counted in `TrackerFeedState`, carried across continue-as-new, so nothing is handed over twice or missed.
 *
 * Which changes get the lifecycle is as before: those the tracker holds inline. A small campaign hands over every one
 * inline; a large one its first page's worth (the campaign stores that page only after handing it over, so it is not
 * handed over again by reference), then later stored pages by reference, and at its end what no page holds.
 */
import { getExternalWorkflowHandle, isCancellation } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { TargetPageRef, TrackedChange } from '../src/contracts';
import { changeTrackerWorkflowId } from '../src/temporal/ids';
import type { CampaignWorkflowInput } from './campaign';
import { startChangeTracker } from './campaign-children';
import { campaignEndedSignal, changesPublishedSignal, type ChangesPublished } from './definitions';
import { PUBLISHED_PAGE_SIZE, type CampaignLedger } from './ledger/campaign-ledger';

/** Campaigns started before their tracker started at the first publish replay starting it when they end. */
export const TRACKER_AT_FIRST_PUBLISH_PATCH = 'tracker-at-first-publish';

/** What the campaign has handed its tracker so far. */
export interface TrackerFeedState {
  started: boolean;
  /** How many published changes, in publishing order, the tracker has (inline, or in pages handed over). */
  sent: number;
  /** Stored pages of published changes dealt with: handed over by reference, or already held inline. */
  pages: number;
}

export interface Handover {
  changes: TrackedChange[];
  pages: TargetPageRef[];
  /** How many published changes the tracker holds inline once this is handed over. */
  sentAfter: number;
}

/**
 * What the tracker does not have yet: inline, the published changes up to the first page's worth (all of them for a
 * small campaign, or at the end); by reference, the stored pages not already held inline.
 */
export function nextHandover(
  state: TrackerFeedState,
  ledger: Pick<CampaignLedger, 'keepsEveryRun'> & {
    state: Pick<CampaignLedger['state'], 'published' | 'publishedPages'>;
  },
  all: boolean,
): Handover {
  const refs = ledger.state.publishedPages ?? [];
  const paged = refs.reduce((n, ref) => n + ref.count, 0);
  const from = Math.max(state.sent, paged);
  const upTo = all || ledger.keepsEveryRun() ? Infinity : PUBLISHED_PAGE_SIZE;
  const changes = from < upTo ? ledger.state.published.slice(from - paged, upTo - paged) : [];
  const pages: TargetPageRef[] = [];
  let start = 0;
  refs.forEach((ref, i) => {
    if (i >= state.pages && start + ref.count > state.sent) pages.push(ref);
    start += ref.count;
  });
  return { changes, pages, sentAfter: from + changes.length };
}

export class TrackerFeed {
  readonly state: TrackerFeedState;

  constructor(
    private readonly input: CampaignWorkflowInput,
    private readonly ledger: CampaignLedger,
  ) {
    this.state = input.tracker ?? { started: false, sent: 0, pages: 0 };
  }

  /** Something published is not with the tracker yet. */
  hasPending(): boolean {
    const next = this.pending(false);
    return next.changes.length > 0 || next.pages.length > 0;
  }

  /** Hands the tracker what was published since the last handover, starting it the first time. */
  async handOver(): Promise<void> {
    await this.send(this.pending(false), false);
  }

  /** The campaign has ended: the tracker gets what is left, the final counts and its tracking window from now. */
  async end(): Promise<void> {
    const next = this.pending(true);
    if (!this.state.started && next.changes.length === 0 && next.pages.length === 0) return;
    await this.send(next, true);
  }

  private pending(all: boolean): Handover {
    return nextHandover(this.state, this.ledger, all);
  }

  private async send(next: Handover, ended: boolean): Promise<void> {
    const counts = this.ledger.progress().counts;
    const pagesAfter = this.ledger.state.publishedPages?.length ?? 0;
    const payload = { changes: next.changes, ...(next.pages.length ? { pages: next.pages } : {}), counts };
    if (!this.state.started) await this.start(payload, ended);
    else {
      try {
        await this.signal(payload, ended);
      } catch (err) {
        if (isCancellation(err)) throw err;
        // The tracker is gone (terminated by hand): a new one gets everything the campaign still holds.
        const pages = this.ledger.state.publishedPages ?? [];
        await this.start({ changes: [...this.ledger.state.published], pages: [...pages], counts }, ended);
      }
    }
    Object.assign(this.state, { started: true, sent: next.sentAfter, pages: pagesAfter });
  }

  private signal(payload: ChangesPublished, ended: boolean): Promise<void> {
    const tracker = getExternalWorkflowHandle(changeTrackerWorkflowId(this.input.spec.id));
    const sent = { ...payload, untilMs: Date.now() + this.input.spec.tracking.forMs };
    return ended ? tracker.signal(campaignEndedSignal, sent) : tracker.signal(changesPublishedSignal, sent);
  }

  /** Starts the tracker (fixed id, abandoned by the campaign); one already running (a retried campaign) is signalled. */
  private async start(payload: ChangesPublished, ended: boolean): Promise<void> {
    try {
      await startChangeTracker(this.input, payload.counts, payload.changes, payload.pages ?? [], !ended);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      await this.signal(payload, ended);
    }
  }
}
