/**
 * Pacing for GitHub's rate limits, per token: every answer's `x-ratelimit-remaining` and `x-ratelimit-reset` are
 * remembered, and once no more than a reserve of the allowance is left, the next request waits for the reset
 * instead of spending the rest and being refused. A `Retry-After` (secondary limit or 429) holds every request of
 * this client the same way. A wait longer than `maxWaitMs` is not slept in-process: the request fails at once with
 * ForgeRateLimitedError carrying the wait, so an activity retries after it (Temporal keeps the time, not a worker slot).
 */
import { ForgeRateLimitedError } from '../errors';

export interface RateLimitOptions {
  host: string;
  /** Requests of the hourly allowance kept back for people and other tools sharing the token. */
  reserve: number;
  /** The longest wait slept in-process before a request; a longer one fails with ForgeRateLimitedError. */
  maxWaitMs: number;
}

/** The reset is whole seconds of the server's clock; a little past it, the new allowance is surely there. */
const RESET_MARGIN_MS = 1_000;

export class RateLimitPacer {
  private allowance?: { remaining: number; resetAtMs: number };
  private heldUntilMs = 0;
  private heldBecause = '';

  constructor(private readonly options: RateLimitOptions) {}

  /** Before each request: returns when it may be sent, or throws ForgeRateLimitedError when that is more than maxWaitMs away. */
  async waitForTurn(where: string): Promise<void> {
    const { waitMs, why } = this.nextTurn();
    if (waitMs <= 0) return;
    if (waitMs > this.options.maxWaitMs)
      throw new ForgeRateLimitedError(this.options.host, waitMs, `${why}; ${where} was not sent`);
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }

  /** After each answer, refused or not. */
  observe(headers: Headers): void {
    const remaining = headerNumber(headers, 'x-ratelimit-remaining');
    const reset = headerNumber(headers, 'x-ratelimit-reset');
    if (remaining === undefined || reset === undefined) return;
    const resetAtMs = reset * 1000;
    // Answers can arrive out of order: an older window's count says nothing, and within a window the lowest is newest.
    if (!this.allowance || resetAtMs > this.allowance.resetAtMs) this.allowance = { remaining, resetAtMs };
    else if (resetAtMs === this.allowance.resetAtMs)
      this.allowance.remaining = Math.min(this.allowance.remaining, remaining);
  }

  /** The forge asked to slow down: no request of this client goes out before `retryAfterMs` has passed. */
  hold(retryAfterMs: number, because: string): void {
    const until = Date.now() + retryAfterMs;
    if (until <= this.heldUntilMs) return;
    this.heldUntilMs = until;
    this.heldBecause = because;
  }

  private nextTurn(): { waitMs: number; why: string } {
    const now = Date.now();
    let turn = { waitMs: this.heldUntilMs - now, why: `${this.options.host} asked to wait (${this.heldBecause})` };
    const allowance = this.allowance;
    if (allowance && allowance.remaining <= this.options.reserve) {
      const waitMs = allowance.resetAtMs + RESET_MARGIN_MS - now;
      const why = `${allowance.remaining} requests left of the rate limit, within the reserve of ${this.options.reserve}, until it resets at ${new Date(allowance.resetAtMs).toISOString()}`;
      if (waitMs > turn.waitMs) turn = { waitMs, why };
    }
    return turn;
  }
}

/**
 * How long the forge asked us to wait: `Retry-After` as delta-seconds or as an HTTP-date, else until
 * `x-ratelimit-reset`, else a minute (GitHub's advice for a secondary limit that names no time).
 */
export function retryAfterMs(headers: Headers, now = Date.now()): number {
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+$/.test(retryAfter)) return Math.max(1000, Number(retryAfter) * 1000);
    const at = Date.parse(retryAfter);
    if (Number.isFinite(at)) return Math.max(1000, at - now);
  }
  const reset = headerNumber(headers, 'x-ratelimit-reset');
  if (reset !== undefined && reset > 0) return Math.max(1000, reset * 1000 - now);
  return 60_000;
}

function headerNumber(headers: Headers, name: string): number | undefined {
  const value = headers.get(name);
  if (value === null || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}
