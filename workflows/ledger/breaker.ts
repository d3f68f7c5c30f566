/** The failure circuit breaker: when failed runs mean the campaign should stop and ask a human. Pure. */
import type { RunReport } from '../../src/contracts';

export interface BreakerState {
  consecutiveFailures: number;
  /** Failed runs per signature since the last resume. */
  failureSignatures: Record<string, number>;
}

export interface BreakerLimits {
  consecutiveFailures: number;
  sameSignature: number;
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

/** Counts one failed run into `state`; says why the campaign must pause, or undefined. */
export function countFailure(
  state: BreakerState,
  limits: BreakerLimits,
  report: RunReport,
  precise: boolean,
): string | undefined {
  state.consecutiveFailures++;
  const signature = failureSignature(report, precise);
  const same = (state.failureSignatures[signature] = (state.failureSignatures[signature] ?? 0) + 1);
  if (state.consecutiveFailures >= limits.consecutiveFailures) {
    return `circuit breaker: ${state.consecutiveFailures} consecutive failed runs (last: ${report.repo}, ${signature})`;
  }
  if (same >= limits.sameSignature)
    return `circuit breaker: ${same} runs failed with the same signature "${signature}"`;
  return undefined;
}
