/** Errors every forge speaks, so publishing can tell a wait from a stop without knowing the provider. */

export type ForgeErrorKind = 'auth' | 'not_found' | 'already_exists' | 'invalid' | 'unavailable' | 'other';

export class ForgeRequestError extends Error {
  constructor(
    message: string,
    /** The HTTP status, or 0 when no answer came (a timeout, no connection). */
    readonly status: number,
    /** Auth and not-found errors will not fix themselves; retrying them only spends rate limit. */
    readonly retryable: boolean,
    readonly kind: ForgeErrorKind = kindOf(status),
  ) {
    super(message);
    this.name = 'ForgeRequestError';
  }
}

/** Thrown when the forge asks us to slow down (429, secondary or exhausted limit); its host pauses until retryAfterMs. */
export class ForgeRateLimitedError extends Error {
  constructor(
    readonly host: string,
    readonly retryAfterMs: number,
    detail: string,
  ) {
    super(`${host} is rate limiting publishing for ${Math.ceil(retryAfterMs / 1000)} s: ${detail}`);
    this.name = 'ForgeRateLimitedError';
  }
}

function kindOf(status: number): ForgeErrorKind {
  if (status === 401) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 422) return 'invalid';
  if (status >= 500) return 'unavailable';
  return 'other';
}
