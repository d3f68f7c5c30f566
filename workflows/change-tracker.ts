/**
 * ChangeTrackerWorkflow (`tracker/<campaignId>`): from a campaign's first published change request, polls its change
 * requests until each is merged or closed (or tracking ends), and answers the campaign's burndown. A campaign started
 * since `tracker-at-first-publish` starts it at its first publish and signals each later one (and its end); older
 * campaigns start it when they end, with every change at once.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  Burndown,
  CampaignResult,
  ChangeRequest,
  ChangeRequestSummary,
  TargetPageRef,
  TaskQueues,
  TrackedChange,
  WaveChange,
} from '../src/contracts';
import type { TrackingActivities } from './activity-types';
import {
  ChangeLifecycleRunner,
  newLifecycleState,
  type LifecycleSettings,
  type LifecycleState,
} from './change-lifecycle';
import {
  approveRunUpdate,
  burndownQuery,
  campaignEndedSignal,
  changesPublishedSignal,
  type ChangesPublished,
  publishPermitRequestedSignal,
  rejectRunUpdate,
  runReportSignal,
  trackedChangesQuery,
} from './definitions';

type Counts = CampaignResult['counts'];

export interface ChangeTrackerInput {
  campaignId: string;
  counts: Counts;
  changes: TrackedChange[];
  queues: TaskQueues;
  pollMs: number;
  /** Stop tracking at this time (epoch ms), merged or not. */
  untilMs: number;
  latest?: Record<string, ChangeRequestSummary | null>;
  /** A large campaign's published changes beyond `changes`, stored a page at a time. */
  changePages?: TargetPageRef[];
  /** What the latest poll found in each stored page, counted (a page's changes are not kept between polls). */
  pageTallies?: PageTally[];
  /**
   * Keep each change request alive until it merges (rebase, automerge, supersede, revert watch); poll only when absent.
   * Only `changes` get it: those in `changePages` are polled and counted (`withoutLifecycle` in the burndown), since a
   * lifecycle's state per change request, carried across continue-as-new, would outgrow the tracker's history.
   */
  lifecycle?: LifecycleSettings;
  /** The lifecycle's state carried across continue-as-new. */
  lifecycleState?: LifecycleState;
  /**
   * Started while its campaign still runs: later changes arrive by `changesPublished` (each moving `untilMs` on), and
   * the tracker keeps polling, all closed or not, until `campaignEnded` brings the final counts and when tracking ends.
   * `untilMs` still ends it, so a campaign that fails or is terminated does not leave its tracker polling for ever.
   */
  campaignOpen?: boolean;
}

/** What the signals of a running campaign change: the changes held, the counts, and when tracking ends. */
type TrackedSet = Pick<
  ChangeTrackerInput,
  'campaignId' | 'counts' | 'changes' | 'changePages' | 'untilMs' | 'campaignOpen'
>;

/** Adds what a campaign published since; a change or page already held (a retried signal, a restarted campaign) is not added twice. */
function takePublished(set: TrackedSet, published: ChangesPublished): void {
  const held = new Set(set.changes.map((c) => c.repo));
  set.changes.push(...published.changes.filter((c) => !held.has(c.repo) && held.add(c.repo)));
  const pages = new Set((set.changePages ?? []).map((p) => p.uri));
  const newPages = (published.pages ?? []).filter((p) => !pages.has(p.uri) && pages.add(p.uri));
  if (newPages.length) set.changePages = [...(set.changePages ?? []), ...newPages];
  set.counts = published.counts;
  if (published.untilMs !== undefined) set.untilMs = Math.max(set.untilMs, published.untilMs);
}

/** The burndown's counts for one stored page of change requests. */
export interface PageTally {
  merged: number;
  open: number;
  checksFailing: number;
  /** Closed unmerged, or gone from the forge. */
  closed: number;
}

/** Reads each stored page of change requests and polls it, keeping only its counts. */
async function pollPages(activities: TrackingActivities, refs: readonly TargetPageRef[]): Promise<PageTally[]> {
  const tallies: PageTally[] = [];
  for (const ref of refs) {
    const states = Object.values(await pollInBatches(activities, await activities.readTrackedChanges(ref)));
    tallies.push({
      merged: states.filter((s) => s?.state === 'merged').length,
      open: states.filter((s) => s?.state === 'open').length,
      checksFailing: states.filter((s) => s?.state === 'open' && s.checks === 'failing').length,
      closed: states.filter((s) => !s || s.state === 'closed').length,
    });
  }
  return tallies;
}

/** Trackers started before polls were batched replay their single call for every change request. */
const TRACKER_BATCHES_PATCH = 'tracker-batches';
/** Change requests read per activity: each answer stays a few KB, and a failed batch is all that is read again. */
const TRACKER_BATCH = 100;

/** One poll, a batch of change requests per activity, each kept to what the burndown needs. */
async function pollInBatches(
  activities: TrackingActivities,
  changes: TrackedChange[],
): Promise<Record<string, ChangeRequestSummary | null>> {
  const latest: Record<string, ChangeRequestSummary | null> = {};
  for (let i = 0; i < changes.length; i += TRACKER_BATCH)
    Object.assign(latest, await activities.changeRequestSummaries(changes.slice(i, i + TRACKER_BATCH)));
  return latest;
}

/** Trackers started before change requests were kept alive until they merge replay polling only. */
const CHANGE_LIFECYCLE_PATCH = 'change-lifecycle';

/** One poll with the lifecycle: whole change requests (head, merge commit), then the lifecycle acts on them. */
async function pollWithLifecycle(
  activities: TrackingActivities,
  changes: TrackedChange[],
  lifecycle: ChangeLifecycleRunner,
): Promise<Record<string, ChangeRequestSummary | null>> {
  const full: Record<string, ChangeRequest | null> = {};
  for (let i = 0; i < changes.length; i += TRACKER_BATCH)
    Object.assign(full, await activities.changeRequestStates(changes.slice(i, i + TRACKER_BATCH)));
  await lifecycle.step(changes, full);
  return Object.fromEntries(
    Object.entries(full).map(([repo, cr]) => [repo, cr && { state: cr.state, checks: cr.checks, url: cr.url }]),
  );
}

export async function ChangeTrackerWorkflow(input: ChangeTrackerInput): Promise<Burndown> {
  const activities = proxyActivities<TrackingActivities>({
    taskQueue: input.queues.control,
    startToCloseTimeout: '5 minutes',
  });
  // Changes, pages and counts grow while the campaign publishes; a copy, so the input stays what started the tracker.
  const tracked: TrackedSet = {
    campaignId: input.campaignId,
    counts: input.counts,
    changes: [...input.changes],
    ...(input.changePages ? { changePages: [...input.changePages] } : {}),
    untilMs: input.untilMs,
    ...(input.campaignOpen ? { campaignOpen: true } : {}),
  };
  let latest = input.latest ?? {};
  let pageTallies = input.pageTallies ?? [];
  let checkedAt: string | undefined;
  const lifecycle =
    input.lifecycle && patched(CHANGE_LIFECYCLE_PATCH)
      ? new ChangeLifecycleRunner(
          input.campaignId,
          input.lifecycle,
          input.queues,
          input.lifecycleState ?? newLifecycleState(),
        )
      : undefined;
  const burndown = () => computeBurndown(tracked, latest, checkedAt, pageTallies, lifecycle?.state);
  setHandler(burndownQuery, burndown);
  setHandler(trackedChangesQuery, () => ({
    changes: tracked.changes.map((c) => toMeasured(c, lifecycle?.state.changes[c.repo]?.base)),
    pages: tracked.changePages ?? [],
    ...(tracked.campaignOpen ? { campaignOpen: true } : {}),
  }));
  // A campaign started since `tracker-at-first-publish` hands over each change it publishes, then says it has ended.
  setHandler(changesPublishedSignal, (published) => takePublished(tracked, published));
  setHandler(campaignEndedSignal, (ended) => {
    takePublished(tracked, { ...ended, untilMs: undefined });
    tracked.campaignOpen = undefined;
    tracked.untilMs = ended.untilMs;
  });
  if (lifecycle) {
    // Runs executed again on a moved base are this tracker's children: they report to it and ask it for permits.
    setHandler(runReportSignal, (report) => lifecycle.onRunReport(report));
    setHandler(publishPermitRequestedSignal, (request) => lifecycle.onPermitRequested(request));
    // A re-execution whose policy asks for approval is decided here, by the same updates a campaign's runs take.
    setHandler(approveRunUpdate, (request) => lifecycle.decide(request, true), {
      validator: (request) => lifecycle.assertAwaitingApproval(request),
    });
    setHandler(rejectRunUpdate, (request) => lifecycle.decide(request, false), {
      validator: (request) => lifecycle.assertAwaitingApproval(request),
    });
  }

  for (;;) {
    // A snapshot: changes that arrive while this poll reads the forge are polled next time.
    const changes = [...tracked.changes];
    const pages = [...(tracked.changePages ?? [])];
    if (lifecycle) latest = await pollWithLifecycle(activities, changes, lifecycle);
    else
      latest = patched(TRACKER_BATCHES_PATCH)
        ? await pollInBatches(activities, changes)
        : await activities.changeRequestStates(changes);
    if (pages.length) pageTallies = await pollPages(activities, pages);
    checkedAt = new Date().toISOString();
    const b = burndown();
    setCurrentDetails(
      `done ${b.done}, open ${b.open} (${b.checksFailing} with failing checks), pending ${b.pending}, failed ${b.failed}` +
        (lifecycle
          ? `; merged ${b.merged}, reverted ${b.reverted}, rebased ${b.rebased}, re-executed ${b.reexecuted}` +
            (b.withoutLifecycle
              ? `; ${b.withoutLifecycle} change request(s) in stored pages are polled only, without the lifecycle`
              : '')
          : '') +
        (tracked.campaignOpen ? '; its campaign is still running and hands over each change it publishes' : ''),
    );
    const allClosed =
      tracked.changes.every((c) => latest[c.repo] && latest[c.repo]!.state !== 'open') &&
      pageTallies.length === (tracked.changePages?.length ?? 0) &&
      pageTallies.every((t) => t.open === 0);
    const settled = allClosed && !lifecycle?.watching(Date.now()) && !tracked.campaignOpen;
    if (settled || Date.now() >= tracked.untilMs) return b;
    await sleep(input.pollMs);
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof ChangeTrackerWorkflow>({
        ...input,
        ...tracked,
        latest,
        ...(pageTallies.length ? { pageTallies } : {}),
        ...(lifecycle ? { lifecycleState: lifecycle.state } : {}),
      });
    }
  }
}

/** A tracked change as outcomes measure it; the base is known once the lifecycle has read the run. */
export function toMeasured(change: TrackedChange, base?: string): WaveChange {
  return {
    repo: change.repo,
    gitUrl: change.url,
    branch: change.branch,
    ...(base ? { base } : {}),
    ...(change.owner ? { owner: change.owner } : {}),
  };
}

/** The burndown: `changes` lists the change requests the tracker holds; counts also cover its stored pages. */
export function computeBurndown(
  input: Pick<ChangeTrackerInput, 'campaignId' | 'counts' | 'changes'>,
  latest: Record<string, ChangeRequestSummary | null>,
  checkedAt?: string,
  pageTallies: readonly PageTally[] = [],
  lifecycle?: LifecycleState,
): Burndown {
  const paged = (key: keyof PageTally) => pageTallies.reduce((n, t) => n + t[key], 0);
  const { counts } = input;
  const changes = input.changes.map((c) => {
    const cr = latest[c.repo];
    const life = lifecycle?.changes[c.repo];
    // Handed over since the last poll (a running campaign's latest publish): open, as its run published it.
    const unpolled = !(c.repo in latest);
    return {
      repo: c.repo,
      state: cr ? cr.state : unpolled ? ('open' as const) : ('missing' as const),
      checks: cr?.checks,
      url: cr?.url,
      ...(life ? lifecycleView(life) : {}),
    };
  });
  const merged = changes.filter((c) => c.state === 'merged').length;
  const closed = changes.filter((c) => c.state === 'closed' || c.state === 'missing').length;
  const open = changes.filter((c) => c.state === 'open');
  const lives = Object.values(lifecycle?.changes ?? {});
  // A reverted merge is not done: it counts as reverted.
  const reverted = changes.filter((c) => c.state === 'merged' && c.revertedBy).length;
  return {
    campaignId: input.campaignId,
    done: merged - reverted + paged('merged') + (counts.no_changes ?? 0),
    open: open.length + paged('open'),
    checksFailing: open.filter((c) => c.checks === 'failing').length + paged('checksFailing'),
    pending: (counts.pending ?? 0) + (counts.executing ?? 0) + (counts.needs_approval ?? 0) + (counts.publishing ?? 0),
    failed: closed + paged('closed') + (counts.failed ?? 0) + (counts.publish_failed ?? 0),
    ...(lifecycle
      ? {
          merged: merged + paged('merged'),
          closed: closed + paged('closed'),
          reverted,
          rebased: lives.reduce((n, l) => n + l.rebases, 0),
          reexecuted: lives.reduce((n, l) => n + l.reexecutions, 0),
          superseded: lives.filter((l) => l.supersededBy).length,
          ...(pageTallies.length ? { withoutLifecycle: paged('merged') + paged('open') + paged('closed') } : {}),
        }
      : {}),
    changes,
    checkedAt,
  };
}

/** What a change's lifecycle adds to its line in the burndown. */
function lifecycleView(life: LifecycleState['changes'][string]) {
  return {
    ...(life.mergeCommit ? { mergeCommit: life.mergeCommit } : {}),
    ...(life.revertedBy ? { revertedBy: life.revertedBy, revertedAt: life.revertedAt } : {}),
    ...(life.supersededBy ? { supersededBy: life.supersededBy } : {}),
    ...(life.rebases ? { rebases: life.rebases } : {}),
    ...(life.note ? { note: life.note } : {}),
    ...(life.automerge && !life.mergeCommit ? { automerge: life.automerge } : {}),
  };
}
