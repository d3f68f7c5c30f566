/**
 * The campaign's ledger: which runs are admitted, what they cost, how they ended, and whether to admit more.
 * Plain data plus pure rules, so it travels through continue-as-new unchanged.
 */
import { SETTLED_RUN_STATES, type CampaignSpec, type RunReport, type RunState, type Target, type TrackedChange } from '../src/contracts';
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
  /** Every published change, which the change tracker watches once the campaign ends. */
  published: TrackedChange[];
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
}

export function newLedger(): LedgerState {
  return {
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
    readonly spec: CampaignSpec,
    readonly state: LedgerState,
    /** False only where a campaign replays from before the precise breaker signatures. */
    private readonly preciseSignatures = true,
  ) {
    for (const [runState, n] of Object.entries(state.archivedCounts)) this.counts[runState as RunState] = n;
    for (const report of Object.values(state.runs)) this.index(report, +1);
  }

  /** Whether every run's report is kept (small campaigns) or only counts (large ones). */
  keepsEveryRun(): boolean {
    return this.state.admittedBefore + this.spec.targets.length <= PER_RUN_DETAIL_LIMIT;
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
  }

  /** Calls `listener` with each report of `runId` until it returns true (the report it waited for has come). */
  onReport(runId: string, listener: (report: RunReport) => boolean): void {
    this.reportListeners.set(runId, listener);
  }

  record(report: RunReport): void {
    const listener = this.reportListeners.get(report.runId);
    if (listener?.(report)) this.reportListeners.delete(report.runId);
    const previous = this.state.runs[report.runId];
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
      total: this.state.admittedBefore + this.spec.targets.length,
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
    const signature = failureSignature(report, this.preciseSignatures);
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
