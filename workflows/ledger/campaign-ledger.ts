/**
 * The campaign's ledger: which runs are admitted, what they cost, how they ended, and whether to admit more.
 * Plain data plus pure rules, so it travels through continue-as-new unchanged.
 */
import type { CampaignSpec, RunReport, RunState, Target, TargetPageRef, TrackedChange } from '../../src/contracts';
import { RUN_STATES, SETTLED_RUN_STATES } from '../../src/contracts/run-states';
import { changeBranch } from '../../src/temporal/ids';
import type { CampaignProgress } from '../definitions';
import { admissionBlocker } from './admission';
import { countFailure, type BreakerState } from './breaker';
import { leftUsd, reserveAgain, reservedTotal, settle, type BudgetState } from './budget';
import { inWindow, publishWait } from './publish-gate';

/** What the campaign workflow may read of the ledger: all of it, changed only through the ledger's methods. */
export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

export interface LedgerState extends BudgetState, BreakerState {
  /** Index into spec.targets of the next target to admit. */
  nextIndex: number;
  /** Targets admitted by earlier runs of the campaign, whose entries were dropped from spec.targets. */
  admittedBefore: number;
  /** Reports of runs still in motion, and of all runs when the campaign is small enough to list them. */
  runs: Record<string, RunReport>;
  /** Runs whose final report was archived out of `runs` (large campaigns), counted by state. */
  archivedCounts: Partial<Record<RunState, number>>;
  /** The latest failed runs of a large campaign, kept for the result; older ones are listed through visibility. */
  recentFailures: RunReport[];
  /** Published changes, which the change tracker watches from the first; a large campaign stores them a page at a time. */
  published: TrackedChange[];
  /** Pages of published changes already stored (large campaigns), so continue-as-new carries at most part of a page. */
  publishedPages?: TargetPageRef[];
  paused: boolean;
  pausedReason?: string;
  stoppedReason?: string;
  cancelled: boolean;
  publishGrants: { host: string; at: number }[];
  /** Hosts that asked us to slow down, until when and why. */
  heldHosts: Record<string, { untilMs: number; reason: string }>;
  permitQueue: { runId: string; host: string }[];
  continuedAsNew: number;
  /** A large campaign's stored target pages (after the one in spec.targets), the next to read, and the campaign's size. */
  pages?: { refs: TargetPageRef[]; next: number; total: number };
}

export function newLedger(targetPages?: { total: number; refs: TargetPageRef[] }): LedgerState {
  return {
    ...(targetPages ? { pages: { refs: targetPages.refs, next: 0, total: targetPages.total } } : {}),
    nextIndex: 0,
    admittedBefore: 0,
    runs: {},
    archivedCounts: {},
    recentFailures: [],
    published: [],
    reservedUsd: {},
    spentUsd: 0,
    paused: false,
    cancelled: false,
    consecutiveFailures: 0,
    failureSignatures: {},
    publishGrants: [],
    heldHosts: {},
    permitQueue: [],
    continuedAsNew: 0,
  };
}

const SLOT_STATES: readonly RunState[] = ['pending', 'executing'];
/** Settled states that never change again (a failed publish can still be retried). */
const FINAL_STATES: readonly RunState[] = SETTLED_RUN_STATES.filter((s) => s !== 'publish_failed');
/** Campaigns up to this size keep every run's report; larger ones keep counts, so continue-as-new stays small. */
export const PER_RUN_DETAIL_LIMIT = 500;
/** Published changes per stored page. */
export const PUBLISHED_PAGE_SIZE = 500;
/** For specs recorded before maxUnsettledRuns existed. */
const DEFAULT_MAX_UNSETTLED_RUNS = 1000;
/** States a run is still open in, as a child workflow of the campaign. */
const OPEN_STATES: readonly RunState[] = RUN_STATES.filter((s) => !FINAL_STATES.includes(s));
const RECENT_FAILURES_KEPT = 100;

export class CampaignLedger {
  // Indexes derived from state.runs, kept up to date on every change so each check is O(1), not O(runs).
  private readonly slotHolders = new Set<string>();
  private readonly unsettledRuns = new Set<string>();
  private readonly perOwner = new Map<string, number>();
  private readonly counts: Partial<Record<RunState, number>> = {};
  /** Listeners for one run's next reports (an approval waiting for the run to act); not carried across continue-as-new. */
  private readonly reportListeners = new Map<string, (report: RunReport) => boolean>();

  constructor(
    /** Its targets are the page being admitted; loadPage replaces them with the next. */
    public spec: CampaignSpec,
    private readonly s: LedgerState,
    /** False only where a campaign replays from before the rule it names (patches `breaker-signature`, `ledger-counts-once`). */
    private readonly rules: { preciseSignatures: boolean; countsRunsOnce: boolean } = {
      preciseSignatures: true,
      countsRunsOnce: true,
    },
  ) {
    for (const [runState, n] of Object.entries(s.archivedCounts)) this.counts[runState as RunState] = n;
    for (const report of Object.values(s.runs)) this.index(report, +1);
  }

  /** The ledger's state, to read; it changes only through the methods below. */
  get state(): DeepReadonly<LedgerState> {
    return this.s;
  }

  /** Whether every run's report is kept (small campaigns) or only counts (large ones). */
  keepsEveryRun(): boolean {
    return this.total() <= PER_RUN_DETAIL_LIMIT;
  }

  /** How many targets the campaign has, read or not. */
  total(): number {
    return this.s.pages?.total ?? this.s.admittedBefore + this.spec.targets.length;
  }

  /** The stored page to read once the targets in hand are all admitted, if any. */
  nextPage(): TargetPageRef | undefined {
    const pages = this.s.pages;
    return this.nextTarget() === undefined && pages && pages.next < pages.refs.length
      ? pages.refs[pages.next]
      : undefined;
  }

  /** Whether any target is left to admit, in hand or in a stored page. */
  hasMoreTargets(): boolean {
    return this.nextTarget() !== undefined || this.nextPage() !== undefined;
  }

  /** Takes the next stored page as the targets in hand. */
  loadPage(targets: Target[]): void {
    this.s.admittedBefore += this.s.nextIndex;
    this.s.nextIndex = 0;
    this.s.pages!.next++;
    this.spec = { ...this.spec, targets };
  }

  /** A full page of published changes to store, where the campaign is too large to carry them all. */
  publishedPageReady(): TrackedChange[] | undefined {
    return !this.keepsEveryRun() && this.s.published.length >= PUBLISHED_PAGE_SIZE
      ? this.s.published.slice(0, PUBLISHED_PAGE_SIZE)
      : undefined;
  }

  /** The page publishedPageReady gave is stored: it leaves the ledger, its reference stays. */
  publishedPageStored(ref: TargetPageRef): void {
    this.s.published = this.s.published.slice(ref.count);
    this.s.publishedPages = [...(this.s.publishedPages ?? []), ref];
  }

  /** Runs admitted and still open (each an open child workflow), counted from the per-state counts. */
  openRunCount(): number {
    return OPEN_STATES.reduce((n, s) => n + (this.counts[s] ?? 0), 0);
  }

  /** Runs holding a window slot: admitted and not yet past execution. */
  inFlightCount(): number {
    return this.slotHolders.size;
  }

  unsettled(): RunReport[] {
    return [...this.unsettledRuns].map((id) => this.s.runs[id]);
  }

  unsettledCount(): number {
    return this.unsettledRuns.size;
  }

  nextTarget(): Target | undefined {
    return this.spec.targets[this.s.nextIndex];
  }

  leftUsd(): number {
    return leftUsd(this.spec.maxBudgetUsd, this.s);
  }

  /** Why the next target cannot start now, or undefined when it can. */
  admissionBlocker(target: Target): string | undefined {
    return admissionBlocker({
      cancelled: this.s.cancelled,
      paused: this.s.paused,
      pausedReason: this.s.pausedReason,
      inFlight: this.slotHolders.size,
      maxConcurrentRuns: this.spec.maxConcurrentRuns,
      owner: target.owner,
      ownerInFlight: target.owner ? (this.perOwner.get(target.owner) ?? 0) : 0,
      maxRunsPerOwner: this.spec.maxRunsPerOwner,
      leftUsd: this.leftUsd(),
      runBudgetUsd: this.spec.runBudgetUsd,
      openRuns: this.openRunCount(),
      maxOpenRuns: this.spec.maxUnsettledRuns ?? DEFAULT_MAX_UNSETTLED_RUNS,
    });
  }

  admit(target: Target, runId: string): void {
    this.put({ runId, repo: target.repo, owner: target.owner, state: 'pending', costUsd: 0 });
    this.s.reservedUsd[runId] = this.spec.runBudgetUsd;
    this.s.nextIndex++;
  }

  /** Targets never started are recorded as skipped, with the reason the campaign stopped. */
  skipRemaining(reason: string): void {
    this.s.stoppedReason = reason;
    for (const target of this.spec.targets.slice(this.s.nextIndex)) {
      const runId = `skipped/${target.repo}`;
      this.put({
        runId,
        repo: target.repo,
        owner: target.owner,
        state: 'skipped',
        costUsd: 0,
        failure: { kind: 'budget', message: reason },
      });
      this.archiveIfFinal(this.s.runs[runId]);
    }
    this.s.nextIndex = this.spec.targets.length;
    // Pages never read are counted, not read: a campaign that large keeps counts only.
    const pages = this.s.pages;
    if (pages) {
      const unread = pages.refs.slice(pages.next).reduce((n, ref) => n + ref.count, 0);
      if (unread > 0) {
        this.s.archivedCounts.skipped = (this.s.archivedCounts.skipped ?? 0) + unread;
        this.counts.skipped = (this.counts.skipped ?? 0) + unread;
      }
      pages.next = pages.refs.length;
    }
  }

  /** Calls `listener` with each report of `runId` until it returns true (the report it waited for has come). */
  onReport(runId: string, listener: (report: RunReport) => boolean): void {
    this.reportListeners.set(runId, listener);
  }

  record(withPermit: RunReport): void {
    const { permitHost, ...report } = withPermit;
    // A `publishing` report may be the run's permit request too; it queues whatever the ledger makes of the report.
    if (permitHost && report.state === 'publishing') this.queuePermit({ runId: report.runId, host: permitHost });
    const listener = this.reportListeners.get(report.runId);
    if (listener?.(report)) this.reportListeners.delete(report.runId);
    const previous = this.s.runs[report.runId];
    // A run's final state never changes: a later report (a cancellation that raced the run's end) is not counted again.
    // A run the ledger no longer holds was archived final, so its late report is dropped too.
    if (this.rules.countsRunsOnce && (!previous || FINAL_STATES.includes(previous.state))) return;
    this.put(report);
    // Re-executed after an approved scope request: reserve again what the run may still spend.
    if (
      previous?.state === 'needs_approval' &&
      report.state === 'executing' &&
      this.s.reservedUsd[report.runId] === undefined
    ) {
      reserveAgain(this.s, report.runId, this.spec.runBudgetUsd, previous.costUsd);
    }
    if (report.state !== 'pending' && report.state !== 'executing') settle(this.s, report.runId, report.costUsd);
    if (previous?.state !== report.state) {
      if (report.state === 'failed') {
        const pause = countFailure(this.s, this.spec.circuitBreaker, report, this.rules.preciseSignatures);
        if (pause) this.pause(pause);
      } else if (['no_changes', 'changed', 'needs_approval', 'published'].includes(report.state))
        this.s.consecutiveFailures = 0;
    }
    if (report.state === 'published' && previous?.state !== 'published' && report.url) {
      this.s.published.push({
        repo: report.repo,
        url: report.url,
        branch: changeBranch(this.spec.changeKey ?? this.spec.id),
        ...(report.owner ? { owner: report.owner } : {}),
      });
    }
    this.archiveIfFinal(report);
  }

  private archiveIfFinal(report: RunReport): void {
    if (this.keepsEveryRun() || !FINAL_STATES.includes(report.state)) return;
    delete this.s.runs[report.runId];
    this.s.archivedCounts[report.state] = (this.s.archivedCounts[report.state] ?? 0) + 1;
    if (report.state === 'failed')
      this.s.recentFailures = [...this.s.recentFailures, report].slice(-RECENT_FAILURES_KEPT);
  }

  /** The spec and ledger for the next run of the campaign: admitted targets are dropped, so the payload stays small. */
  carryOver(): { spec: CampaignSpec; state: LedgerState } {
    const state = {
      ...this.s,
      admittedBefore: this.s.admittedBefore + this.s.nextIndex,
      nextIndex: 0,
      continuedAsNew: this.s.continuedAsNew + 1,
    };
    return { spec: { ...this.spec, targets: this.spec.targets.slice(this.s.nextIndex) }, state };
  }

  pause(reason: string): void {
    this.s.paused = true;
    this.s.pausedReason = reason;
  }

  resume(): void {
    this.s.paused = false;
    this.s.pausedReason = undefined;
    this.s.consecutiveFailures = 0;
    this.s.failureSignatures = {};
  }

  /** A run asks to publish: it queues for the campaign's publish gate. */
  queuePermit(request: { runId: string; host: string }): void {
    this.s.permitQueue.push(request);
  }

  /** A forge asked to slow down: no permit for that host until then. */
  holdHost(host: string, untilMs: number, reason: string): void {
    this.s.heldHosts[host] = { untilMs, reason };
  }

  /** Cancelled: nothing more is admitted, and the targets not yet started are skipped with the reason. */
  cancel(reason: string): void {
    this.s.cancelled = true;
    this.skipRemaining(reason);
  }

  /** The permit to grant now, or the moment the head of the queue may be granted. */
  nextPermit(now: number): { grant?: { runId: string; host: string }; waitUntil?: number } {
    const rate = this.spec.publishRate;
    this.s.publishGrants = inWindow(this.s.publishGrants, (g) => g.at, rate.windowMs, now);
    const head = this.s.permitQueue[0];
    if (!head) return {};
    const grantTimes = this.s.publishGrants.filter((g) => g.host === head.host).map((g) => g.at);
    const wait = publishWait(grantTimes, rate, now, this.s.heldHosts[head.host]?.untilMs);
    if (wait > 0) return { waitUntil: now + wait };
    this.s.permitQueue.shift();
    this.s.publishGrants.push({ host: head.host, at: now });
    return { grant: head };
  }

  progress(permitHeldUntil?: number): CampaignProgress {
    const activeHold = Object.values(this.s.heldHosts).find((h) => h.untilMs > Date.now())?.untilMs;
    const heldUntil = permitHeldUntil ?? activeHold;
    const reservedUsd = reservedTotal(this.s);
    return {
      campaignId: this.spec.id,
      total: this.total(),
      admitted: this.s.admittedBefore + this.s.nextIndex,
      inFlight: this.slotHolders.size,
      counts: { ...this.counts },
      budget: { limitUsd: this.spec.maxBudgetUsd, spentUsd: this.s.spentUsd, reservedUsd, leftUsd: this.leftUsd() },
      paused: this.s.paused,
      pausedReason: this.s.pausedReason,
      stoppedReason: this.s.stoppedReason,
      publishing: {
        grantedInWindow: this.s.publishGrants.length,
        max: this.spec.publishRate.max,
        windowMs: this.spec.publishRate.windowMs,
        heldUntil: heldUntil !== undefined ? new Date(heldUntil).toISOString() : undefined,
        heldReason: heldUntil !== undefined ? this.heldReason(heldUntil) : undefined,
      },
      continuedAsNew: this.s.continuedAsNew,
    };
  }

  private heldReason(until: number): string {
    const forge = Object.entries(this.s.heldHosts).find(([, h]) => h.untilMs === until);
    return forge
      ? `${forge[0]} asked to slow down: ${forge[1].reason}`
      : `the campaign's rate of ${this.spec.publishRate.max} per ${this.spec.publishRate.windowMs / 1000} s is used up`;
  }

  private put(report: RunReport): void {
    const previous = this.s.runs[report.runId];
    if (previous) this.index(previous, -1);
    this.s.runs[report.runId] = report;
    this.index(report, +1);
  }

  private index(report: RunReport, delta: 1 | -1): void {
    this.counts[report.state] = (this.counts[report.state] ?? 0) + delta;
    if (this.counts[report.state] === 0) delete this.counts[report.state];
    const holdsSlot = SLOT_STATES.includes(report.state);
    if (delta < 0) {
      this.unsettledRuns.delete(report.runId);
      this.slotHolders.delete(report.runId);
    } else {
      if (!SETTLED_RUN_STATES.includes(report.state)) this.unsettledRuns.add(report.runId);
      if (holdsSlot) this.slotHolders.add(report.runId);
    }
    if (holdsSlot && report.owner) this.perOwner.set(report.owner, (this.perOwner.get(report.owner) ?? 0) + delta);
  }
}

export { failureSignature } from './breaker';
