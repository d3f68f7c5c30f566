/** Whether the next target may start now: the campaign's limits, in the order a reader checks them. Pure. */

export interface AdmissionView {
  cancelled: boolean;
  pausedReason?: string;
  paused: boolean;
  /** Runs holding a window slot (pending or executing). */
  inFlight: number;
  maxConcurrentRuns: number;
  owner?: string;
  /** The owner's runs holding a slot. */
  ownerInFlight: number;
  maxRunsPerOwner?: number;
  leftUsd: number;
  runBudgetUsd: number;
  /** Runs still open: executing, awaiting approval, publishing, failed to publish. */
  openRuns: number;
  maxOpenRuns: number;
}

/** Why the next target cannot start now, or undefined when it can. */
export function admissionBlocker(view: AdmissionView): string | undefined {
  if (view.cancelled) return 'cancelled';
  if (view.paused) return `paused: ${view.pausedReason}`;
  if (view.inFlight >= view.maxConcurrentRuns) return 'window full';
  if (view.maxRunsPerOwner !== undefined && view.owner && view.ownerInFlight >= view.maxRunsPerOwner) {
    return `owner ${view.owner} at its limit of ${view.maxRunsPerOwner}`;
  }
  if (view.leftUsd < view.runBudgetUsd) return 'budget';
  if (view.openRuns >= view.maxOpenRuns)
    return `${view.maxOpenRuns} runs are still open (awaiting approval or publishing): maxUnsettledRuns`;
  return undefined;
}
