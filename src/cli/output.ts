/** How the CLI speaks: human text by default, JSON with --json, and exit codes that mean something. */
import { CampaignNotFoundError, InvalidSpecError, RunNotAwaitingError, RunNotFoundError } from '../client/errors';
import { ScheduleNotFound } from '../client/schedules';
import { ContractViolation } from '../contracts/validate';

export const EXIT = { ok: 0, failure: 1, invalidInput: 2, notFound: 3, refused: 4, runsFailed: 5 } as const;

export interface OutputOptions {
  json?: boolean;
}

export function emit(options: OutputOptions, value: unknown, human: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

export function table(rows: readonly Record<string, string | number | undefined>[], columns: readonly string[]): string {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => String(r[c] ?? ''))))].join('\n');
}

export function bar(done: number, total: number, width = 30): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

/** Runs a command action, turning typed errors into a message on stderr and a distinct exit code. */
export function action<A extends unknown[]>(run: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
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
  if (err instanceof InvalidSpecError || err instanceof ContractViolation) return EXIT.invalidInput;
  if (err instanceof CampaignNotFoundError || err instanceof RunNotFoundError || err instanceof ScheduleNotFound) return EXIT.notFound;
  if (err instanceof RunNotAwaitingError) return EXIT.refused;
  return EXIT.failure;
}
