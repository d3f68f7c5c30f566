/** Who is calling: the name a run records as "requested by" when the caller does not give one. */
import os from 'node:os';

export function callerIdentity(): string {
  try {
    const name = os.userInfo().username;
    if (name) return name;
  } catch {
    // A uid without a passwd entry (common in containers) has no user name; fall back to the environment.
  }
  return process.env.USER || process.env.LOGNAME || `uid ${process.getuid?.() ?? 'unknown'}`;
}

/** A campaign spec's `requestedBy`: an explicit requester wins, then the spec's own, then the caller's identity. */
export function withRequester(input: unknown, requester: { explicit?: string; fallback: string }): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const spec = input as Record<string, unknown>;
  if (requester.explicit !== undefined) return { ...spec, requestedBy: requester.explicit };
  return spec.requestedBy === undefined ? { ...spec, requestedBy: requester.fallback } : spec;
}
