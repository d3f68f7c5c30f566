/**
 * Admission: targets are admitted through a sliding window, page by page, under the ledger's blockers and the rollout's
 * gates; once every run has settled the campaign finishes, or continues as new before its history grows large.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { CampaignResult, Target } from '../src/contracts';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/temporal/failure-types';
import type { PageActivities } from './activity-types';
import type { CampaignWorkflow, CampaignWorkflowInput } from './campaign';
import { admit, startChangeTracker } from './campaign-children';
import { TRACKER_AT_FIRST_PUBLISH_PATCH, TrackerFeed } from './campaign-tracker-feed';
import { grantPublishPermits, PERMITS_IN_ONE_TASK_PATCH } from './campaign-permits';
import type { CampaignLedger } from './ledger/campaign-ledger';
import { campaignOutcomes, holdAtGates, type WaveRollout } from './waves';

/** Campaigns started before a window of runs started in one workflow task replay awaiting each start. */
const CONCURRENT_RUN_STARTS_PATCH = 'concurrent-run-starts';

/** Campaigns started before published changes were stored in pages replay carrying them whole. */
const PUBLISHED_PAGES_PATCH = 'published-pages';

/**
 * Stores each full page of published changes as it fills, until the campaign is done (or continues as new); with a
 * tracker feed, hands each published change to the tracker first (a page is stored only once its changes are handed).
 */
async function storePublishedPages(
  input: CampaignWorkflowInput,
  ledger: CampaignLedger,
  pages: PageActivities,
  done: () => boolean,
  feed: TrackerFeed | undefined,
): Promise<void> {
  for (;;) {
    await condition(() => done() || ledger.publishedPageReady() !== undefined || !!feed?.hasPending());
    if (feed?.hasPending()) {
      await feed.handOver();
      continue;
    }
    const changes = ledger.publishedPageReady();
    if (!changes || !patched(PUBLISHED_PAGES_PATCH)) return;
    const page = (ledger.state.publishedPages?.length ?? 0) + 1;
    ledger.publishedPageStored(await pages.storeTrackedChanges({ campaignId: input.spec.id, page, changes }));
  }
}

export async function admitAndSettle(
  input: CampaignWorkflowInput,
  ledger: CampaignLedger,
  waves: WaveRollout | undefined,
  refreshDetails: () => void,
  onHeld: (until?: number) => void,
): Promise<CampaignResult> {
  const pages = proxyActivities<PageActivities>({
    taskQueue: input.queues.control,
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
  });
  let done = false;
  const feed = patched(TRACKER_AT_FIRST_PUBLISH_PATCH) ? new TrackerFeed(input, ledger) : undefined;
  const permits = grantPublishPermits(ledger, () => done, onHeld, patched(PERMITS_IN_ONE_TASK_PATCH));
  const published = storePublishedPages(input, ledger, pages, () => done, feed);
  // A cancelled campaign ends in the admission loop; the other loops' cancellation is then not an unhandled rejection.
  permits.catch(() => undefined);
  published.catch(() => undefined);
  const admittedCount = () => ledger.progress().admitted;
  const gates = waves
    ? holdAtGates(
        waves,
        { admitted: admittedCount, unsettled: () => ledger.unsettledCount(), done: () => done },
        input.queues,
        refreshDetails,
      )
    : Promise.resolve();
  gates.catch(() => undefined);
  const blocker = (target: Target) => ledger.admissionBlocker(target) ?? waves?.admissionBlocker(admittedCount());

  const historyLimit = input.historyLimit ?? 10_000;
  const shouldContinue = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyLimit;
  // Starts are not awaited one by one: a window of runs starts in one workflow task. A start that fails (not a run that
  // exists already, which admit records) fails the campaign, as an awaited start did.
  const concurrentStarts = patched(CONCURRENT_RUN_STARTS_PATCH);
  const starting = new Set<Promise<void>>();
  let startFailure: unknown;
  const failedStart = () => startFailure !== undefined;

  while (!shouldContinue() && !failedStart()) {
    const target = ledger.nextTarget();
    if (!target) {
      const page = ledger.nextPage();
      if (!page) break;
      ledger.loadPage(await pages.readTargetPage(page));
      continue;
    }
    await condition(
      () =>
        blocker(target) === undefined ||
        stopForBudget(ledger, target) ||
        ledger.nextTarget() !== target ||
        shouldContinue() ||
        failedStart(),
    );
    if (ledger.nextTarget() !== target || shouldContinue() || failedStart()) continue;
    if (stopForBudget(ledger, target)) {
      ledger.skipRemaining(
        `budget: $${ledger.leftUsd().toFixed(2)} left cannot cover another run's cap of $${input.spec.runBudgetUsd}`,
      );
      break;
    }
    waves?.admitted(target);
    if (concurrentStarts) {
      const start = admit(input, ledger, target).then(
        () => void starting.delete(start),
        (err: unknown) => void (startFailure ??= err),
      );
      starting.add(start);
    } else await admit(input, ledger, target);
    refreshDetails();
  }
  await Promise.all(starting);
  if (failedStart()) throw startFailure;

  // Before continuing as new, let executing runs finish: their stream of reports would keep rejecting the continue-as-new.
  await condition(
    () =>
      (!ledger.hasMoreTargets() && ledger.unsettledCount() === 0) || (shouldContinue() && ledger.inFlightCount() === 0),
  );
  done = true;
  await permits;
  await published;
  await gates;
  if (ledger.hasMoreTargets() || ledger.unsettledCount() > 0) {
    await condition(allHandlersFinished);
    const next = ledger.carryOver();
    // The ledger carries the stored pages from here on; the input need not repeat them.
    await continueAsNew<typeof CampaignWorkflow>({
      ...input,
      targetPages: undefined,
      spec: next.spec,
      ledger: next.state,
      ...(waves ? { waves: waves.state } : {}),
      ...(feed ? { tracker: feed.state } : {}),
    });
  }
  await condition(allHandlersFinished);

  const runs = [...Object.values(ledger.state.runs), ...ledger.state.recentFailures];
  const counts = ledger.progress().counts;
  const rolledOut = waves ? await campaignOutcomes(waves, input.queues, admittedCount(), 0) : undefined;
  if (feed) await feed.end();
  else if (ledger.state.published.length > 0 || ledger.state.publishedPages?.length)
    await startChangeTracker(input, counts, ledger.state.published, ledger.state.publishedPages);
  return {
    campaignId: input.spec.id,
    detail: ledger.keepsEveryRun() ? 'per_run' : 'counts_only',
    runs,
    counts,
    spentUsd: ledger.state.spentUsd,
    stoppedReason: ledger.state.stoppedReason,
    ...rolledOut,
  };
}

/** The budget cannot cover the next run and nothing in flight can free a reservation. */
function stopForBudget(ledger: CampaignLedger, target: Target): boolean {
  return ledger.admissionBlocker(target) === 'budget' && Object.keys(ledger.state.reservedUsd).length === 0;
}
