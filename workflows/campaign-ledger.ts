/**
 * The campaign's ledger: which runs are admitted, what they cost, how they ended, and whether to admit more.
 * Plain data plus pure rules, so it travels through continue-as-new unchanged.
 */
import { RUN_STATES, SETTLED_RUN_STATES, type CampaignSpec, type RunReport, type RunState, type Target, type TargetPageRef, type TrackedChange } from '../src/contracts';
import type { CampaignProgress } from './definitions';

export interface LedgerState {
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
  /** Published changes, which the change tracker watches once the campaign ends; a large campaign stores them a page at a time. */
  published: TrackedChange[];
  /** Pages of published changes already stored (large campaigns), so continue-as-new carries at most part of a page. */
  publishedPages?: TargetPageRef[];
  reservedUsd: Record<string, number>;
  /** What runs re-executing after an approved scope request were already charged for their first execution. */
  chargedUsd?: Record<string, number>;
  spentUsd: number;
  paused: boolean;
  pausedReason?: string;
  stoppedReason?: string;
  cancelled: boolean;
  consecutiveFailures: number;
  failureSignatures: Record<string, number>;
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
    readonly state: LedgerState,
    /** False only where a campaign replays from before the rule it names (patches `breaker-signature`, `ledger-counts-once`). */
    private readonly rules: { preciseSignatures: boolean; countsRunsOnce: boolean } = { preciseSignatures: true, countsRunsOnce: true },
  ) {
    for (const [runState, n] of Object.entries(state.archivedCounts)) this.counts[runState as RunState] = n;
    for (const report of Object.values(state.runs)) this.index(report, +1);
  }

  /** Whether every run's report is kept (small campaigns) or only counts (large ones). */
  keepsEveryRun(): boolean {
    return this.total() <= PER_RUN_DETAIL_LIMIT;
  }

  /** How many targets the campaign has, read or not. */
  total(): number {
    return this.state.pages?.total ?? this.state.admittedBefore + this.spec.targets.length;
  }

  /** The stored page to read once the targets in hand are all admitted, if any. */
  nextPage(): TargetPageRef | undefined {
    const pages = this.state.pages;
    return this.nextTarget() === undefined && pages && pages.next < pages.refs.length ? pages.refs[pages.next] : undefined;
  }

  /** Whether any target is left to admit, in hand or in a stored page. */
  hasMoreTargets(): boolean {
    return this.nextTarget() !== undefined || this.nextPage() !== undefined;
  }

  /** Takes the next stored page as the targets in hand. */
  loadPage(targets: Target[]): void {
    this.state.admittedBefore += this.state.nextIndex;
    this.state.nextIndex = 0;
    this.state.pages!.next++;
    this.spec = { ...this.spec, targets };
  }

  /** A full page of published changes to store, where the campaign is too large to carry them all. */
  publishedPageReady(): TrackedChange[] | undefined {
    return !this.keepsEveryRun() && this.state.published.length >= PUBLISHED_PAGE_SIZE ? this.state.published.slice(0, PUBLISHED_PAGE_SIZE) : undefined;
  }

  /** The page publishedPageReady gave is stored: it leaves the ledger, its reference stays. */
  publishedPageStored(ref: TargetPageRef): void {
    this.state.published = this.state.published.slice(ref.count);
    this.state.publishedPages = [...(this.state.publishedPages ?? []), ref];
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
    return [...this.unsettledRuns].map((id) => this.state.runs[id]);
  }

  unsettledCount(): number {
    return this.unsettledRuns.size;
  }

  nextTarget(): Target | undefined {
    return this.spec.targets[this.state.nextIndex];
  }

  leftUsd(): number {
    return this.spec.maxBudgetUsd - this.state.spentUsd - sum(Object.values(this.state.reservedUsd));
  }

  /** Why the next target cannot start now, or undefined when it can. */
  admissionBlocker(target: Target): string | undefined {
    if (this.state.cancelled) return 'cancelled';
    if (this.state.paused) return `paused: ${this.state.pausedReason}`;
    if (this.slotHolders.size >= this.spec.maxConcurrentRuns) return 'window full';
    const perOwner = this.spec.maxRunsPerOwner;
    if (perOwner !== undefined && target.owner && (this.perOwner.get(target.owner) ?? 0) >= perOwner) {
      return `owner ${target.owner} at its limit of ${perOwner}`;
    }
    if (this.leftUsd() < this.spec.runBudgetUsd) return 'budget';
    const maxOpen = this.spec.maxUnsettledRuns ?? DEFAULT_MAX_UNSETTLED_RUNS;
    if (this.openRunCount() >= maxOpen) return `${maxOpen} runs are still open (awaiting approval or publishing): maxUnsettledRuns`;
    return undefined;
  }

  admit(target: Target, runId: string): void {
    this.put({ runId, repo: target.repo, owner: target.owner, state: 'pending', costUsd: 0 });
    this.state.reservedUsd[runId] = this.spec.runBudgetUsd;
    this.state.nextIndex++;
  }

  /** Targets never started are recorded as skipped, with the reason the campaign stopped. */
  skipRemaining(reason: string): void {
    this.state.stoppedReason = reason;
    for (const target of this.spec.targets.slice(this.state.nextIndex)) {
      const runId = `skipped/${target.repo}`;
      this.put({ runId, repo: target.repo, owner: target.owner, state: 'skipped', costUsd: 0, failure: { kind: 'budget', message: reason } });
      this.archiveIfFinal(this.state.runs[runId]);
    }
    this.state.nextIndex = this.spec.targets.length;
    // Pages never read are counted, not read: a campaign that large keeps counts only.
    const pages = this.state.pages;
    if (pages) {
      const unread = pages.refs.slice(pages.next).reduce((n, ref) => n + ref.count, 0);
      if (unread > 0) {
        this.state.archivedCounts.skipped = (this.state.archivedCounts.skipped ?? 0) + unread;
        this.counts.skipped = (this.counts.skipped ?? 0) + unread;
      }
      pages.next = pages.refs.length;
    }
  }

  /** Calls `listener` with each report of `runId` until it returns true (the report it waited for has come). */
  onReport(runId: string, listener: (report: RunReport) => boolean): void {
    this.reportListeners.set(runId, listener);
  }

  record(report: RunReport): void {
    const listener = this.reportListeners.get(report.runId);
    if (listener?.(report)) this.reportListeners.delete(report.runId);
    const previous = this.state.runs[report.runId];
    // A run's final state never changes: a later report (a cancellation that raced the run's end) is not counted again.
    // A run the ledger no longer holds was archived final, so its late report is dropped too.
    if (this.rules.countsRunsOnce && (!previous || FINAL_STATES.includes(previous.state))) return;
    this.put(report);
    if (previous?.state === 'needs_approval' && report.state === 'executing' && this.state.reservedUsd[report.runId] === undefined) {
      // Re-executed after an approved scope request: reserve again what the run may still spend, and remember what it has been charged.
      this.state.reservedUsd[report.runId] = Math.max(0, this.spec.runBudgetUsd - previous.costUsd);
      this.state.chargedUsd = { ...this.state.chargedUsd, [report.runId]: previous.costUsd };
    }
    if (report.state !== 'pending' && report.state !== 'executing' && this.state.reservedUsd[report.runId] !== undefined) {
      delete this.state.reservedUsd[report.runId];
      this.state.spentUsd += report.costUsd - (this.state.chargedUsd?.[report.runId] ?? 0);
      if (this.state.chargedUsd?.[report.runId] !== undefined) delete this.state.chargedUsd[report.runId];
    }
    if (previous?.state !== report.state) {
      if (report.state === 'failed') this.countFailure(report);
      else if (['no_changes', 'changed', 'needs_approval', 'published'].includes(report.state)) this.state.consecutiveFailures = 0;
    }
    if (report.state === 'published' && previous?.state !== 'published' && report.url) {
      this.state.published.push({ repo: report.repo, url: report.url, branch: `regatta/${this.spec.changeKey ?? this.spec.id}` });
    }
    this.archiveIfFinal(report);
  }

  private archiveIfFinal(report: RunReport): void {
    if (this.keepsEveryRun() || !FINAL_STATES.includes(report.state)) return;
    delete this.state.runs[report.runId];
    this.state.archivedCounts[report.state] = (this.state.archivedCounts[report.state] ?? 0) + 1;
    if (report.state === 'failed') this.state.recentFailures = [...this.state.recentFailures, report].slice(-RECENT_FAILURES_KEPT);
  }

  /** The spec and ledger for the next run of the campaign: admitted targets are dropped, so the payload stays small. */
  carryOver(): { spec: CampaignSpec; state: LedgerState } {
    const state = { ...this.state, admittedBefore: this.state.admittedBefore + this.state.nextIndex, nextIndex: 0, continuedAsNew: this.state.continuedAsNew + 1 };
    return { spec: { ...this.spec, targets: this.spec.targets.slice(this.state.nextIndex) }, state };
  }

  pause(reason: string): void {
    this.state.paused = true;
    this.state.pausedReason = reason;
  }

  resume(): void {
    this.state.paused = false;
    this.state.pausedReason = undefined;
    this.state.consecutiveFailures = 0;
    this.state.failureSignatures = {};
  }

  /** The permit to grant now, or the moment the head of the queue may be granted. */
  nextPermit(now: number): { grant?: { runId: string; host: string }; waitUntil?: number } {
    const { max, windowMs } = this.spec.publishRate;
    this.state.publishGrants = this.state.publishGrants.filter((g) => now - g.at < windowMs);
    const head = this.state.permitQueue[0];
    if (!head) return {};
    const held = this.state.heldHosts[head.host];
    if (held && held.untilMs > now) return { waitUntil: held.untilMs };
    const granted = this.state.publishGrants.filter((g) => g.host === head.host);
    if (granted.length < max) {
      this.state.permitQueue.shift();
      this.state.publishGrants.push({ host: head.host, at: now });
      return { grant: head };
    }
    return { waitUntil: granted[0].at + windowMs };
  }

  progress(permitHeldUntil?: number): CampaignProgress {
    const activeHold = Object.values(this.state.heldHosts).find((h) => h.untilMs > Date.now())?.untilMs;
    const heldUntil = permitHeldUntil ?? activeHold;
    const reservedUsd = sum(Object.values(this.state.reservedUsd));
    return {
      campaignId: this.spec.id,
      total: this.total(),
      admitted: this.state.admittedBefore + this.state.nextIndex,
      inFlight: this.slotHolders.size,
      counts: { ...this.counts },
      budget: { limitUsd: this.spec.maxBudgetUsd, spentUsd: this.state.spentUsd, reservedUsd, leftUsd: this.leftUsd() },
      paused: this.state.paused,
      pausedReason: this.state.pausedReason,
      stoppedReason: this.state.stoppedReason,
      publishing: {
        grantedInWindow: this.state.publishGrants.length,
        max: this.spec.publishRate.max,
        windowMs: this.spec.publishRate.windowMs,
        heldUntil: heldUntil !== undefined ? new Date(heldUntil).toISOString() : undefined,
        heldReason: heldUntil !== undefined ? this.heldReason(heldUntil) : undefined,
      },
      continuedAsNew: this.state.continuedAsNew,
    };
  }

  private heldReason(until: number): string {
    const forge = Object.entries(this.state.heldHosts).find(([, h]) => h.untilMs === until);
    return forge ? `${forge[0]} asked to slow down: ${forge[1].reason}` : `the campaign's rate of ${this.spec.publishRate.max} per ${this.spec.publishRate.windowMs / 1000} s is used up`;
  }

  private put(report: RunReport): void {
    const previous = this.state.runs[report.runId];
    if (previous) this.index(previous, -1);
    this.state.runs[report.runId] = report;
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

  private countFailure(report: RunReport): void {
    const breaker = this.spec.circuitBreaker;
    this.state.consecutiveFailures++;
    const signature = failureSignature(report, this.rules.preciseSignatures);
    this.state.failureSignatures[signature] = (this.state.failureSignatures[signature] ?? 0) + 1;
    if (this.state.consecutiveFailures >= breaker.consecutiveFailures) {
      this.pause(`circuit breaker: ${this.state.consecutiveFailures} consecutive failed runs (last: ${report.repo}, ${signature})`);
    } else if (this.state.failureSignatures[signature] >= breaker.sameSignature) {
      this.pause(`circuit breaker: ${this.state.failureSignatures[signature]} runs failed with the same signature "${signature}"`);
    }
  }
}

/**
 * Failures that share a signature count towards the breaker together. A signature keeps the failing command and the
 * first error line, and takes out only what differs between repositories for the same fault: the repository's own
 * name, URLs, numbers and hashes. `precise` is false for campaigns started before signatures kept quoted text
 * (patch `breaker-signature`), which grouped every verification failure under one signature.
 */
export function failureSignature(report: RunReport, precise = true): string {
  const raw = report.failure?.message ?? '';
  const message = precise
    ? raw
        .split(report.repo)
        .join('<repo>')
        .replace(/https?:\/\/\S+/g, '<url>')
        .replace(/\b[0-9a-f]{7,}\b|\d+(\.\d+)*/g, '#')
        .slice(0, 240)
    : raw
        .replace(/https?:\/\/\S+/g, '<url>')
        .replace(/"[^"]*"|'[^']*'|`[^`]*`/g, '…')
        .replace(/[0-9a-f]{7,}|\d+/g, '#')
        .slice(0, 80);
  return `${report.failure?.kind ?? 'unknown'}: ${message}`;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
