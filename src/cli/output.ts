/** How the CLI speaks: human text by default, JSON with --json, and exit codes that mean something. */
import type { RegattaClient } from '../client';
import {
  CampaignNotFoundError,
  CampaignSpecConflictError,
  InvalidSpecError,
  RunNotAwaitingError,
  RunNotFoundError,
  ScheduleNotFoundError,
} from '../client/errors';
import type { Failure, RunState } from '../contracts';
import { ContractViolationError } from '../contracts/validate';

export const EXIT = { ok: 0, failure: 1, invalidInput: 2, notFound: 3, refused: 4, runsFailed: 5 } as const;

export interface OutputOptions {
  json?: boolean;
}

export function emit(options: OutputOptions, value: unknown, human: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

export function table(
  rows: readonly Record<string, string | number | undefined>[],
  columns: readonly string[],
): string {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((c) => c.toUpperCase())),
    ...rows.map((r) => line(columns.map((c) => String(r[c] ?? '')))),
  ].join('\n');
}

/** States whose reason is worth a query: settled, and not a success. */
const EXPLAINED_STATES: readonly RunState[] = [
  'policy_denied',
  'no_changes',
  'failed',
  'changed',
  'needs_approval',
  'publish_failed',
  'rejected',
  'cancelled',
  'skipped',
];
const REASON_QUERIES_AT_ONCE = 8;

export interface ReasonSource {
  runId: string;
  state: RunState | 'unknown';
  failure?: Failure;
  changeRequestUrl?: string;
}

/**
 * Why each run is where it is: its failure, else the change request, else (for a state that is not a success) the note
 * of its last transition, asked of the run itself, so `policy_denied` shows the rule and the part it refused.
 */
export async function runReasons(client: RegattaClient, runs: readonly ReasonSource[]): Promise<Map<string, string>> {
  const reasons = new Map<string, string>();
  const toAsk: ReasonSource[] = [];
  for (const run of runs) {
    if (run.failure) reasons.set(run.runId, `${run.failure.kind}: ${run.failure.message}`);
    else if (run.changeRequestUrl) reasons.set(run.runId, run.changeRequestUrl);
    else if ((EXPLAINED_STATES as readonly string[]).includes(run.state)) toAsk.push(run);
  }
  for (let i = 0; i < toAsk.length; i += REASON_QUERIES_AT_ONCE) {
    await Promise.all(
      toAsk
        .slice(i, i + REASON_QUERIES_AT_ONCE)
        .map(async (run) => reasons.set(run.runId, await askReason(client, run.runId))),
    );
  }
  return reasons;
}

async function askReason(client: RegattaClient, runId: string): Promise<string> {
  try {
    const summary = await client.runStatus(runId);
    if (summary.failure) return `${summary.failure.kind}: ${summary.failure.message}`;
    return summary.events.at(-1)?.note ?? '';
  } catch (err) {
    return `(reason unavailable: ${(err as Error).message})`;
  }
}

export function bar(done: number, total: number, width = 30): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

/** Runs a command action, turning typed errors into a message on stderr and a distinct exit code. */
export function action<A extends unknown[]>(
  run: (...args: A) => Promise<number | void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = (await run(...args)) ?? EXIT.ok;
    } catch (err) {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      process.exitCode = exitCodeFor(err);
    }
  };
}

function exitCodeFor(err: unknown): number {
  if (err instanceof InvalidSpecError || err instanceof ContractViolationError) return EXIT.invalidInput;
  if (err instanceof CampaignNotFoundError || err instanceof RunNotFoundError || err instanceof ScheduleNotFoundError)
    return EXIT.notFound;
  if (err instanceof RunNotAwaitingError || err instanceof CampaignSpecConflictError) return EXIT.refused;
  return EXIT.failure;
}
