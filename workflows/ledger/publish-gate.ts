/**
 * The publish gate: at most `max` change requests per `windowMs` on a forge host, and none while the forge has asked
 * to wait. Pure; the campaign applies it per host, and the fleet-wide governor to its one host.
 */

export interface PublishRate {
  max: number;
  windowMs: number;
}

/** Grant times still inside the window at `now`. */
export function inWindow<T>(grants: readonly T[], at: (grant: T) => number, windowMs: number, now: number): T[] {
  return grants.filter((g) => now - at(g) < windowMs);
}

/** How long before the next publish may go: 0 for now; else until the hold ends or the oldest grant leaves the window. */
export function publishWait(grantTimes: readonly number[], rate: PublishRate, now: number, heldUntil = 0): number {
  if (heldUntil > now) return heldUntil - now;
  const recent = grantTimes.filter((at) => now - at < rate.windowMs);
  return recent.length < rate.max ? 0 : recent[0] + rate.windowMs - now;
}
