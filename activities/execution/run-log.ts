/** The attempt's append-only record: StepEvents numbered in order, the human-readable log, the commands run. */
import type { StepEvent } from '../../src/contracts';
import type { CommandResult } from '../../src/sandbox/driver';

export class RunLog {
  readonly events: StepEvent[] = [];
  readonly commands: string[] = [];
  private readonly lines: string[] = [];

  emit(event: Omit<StepEvent, 'seq' | 'at'>): void {
    this.events.push({ seq: this.events.length, at: new Date().toISOString(), ...event });
  }

  command(kind: StepEvent['kind'], name: string, result: CommandResult): void {
    const capped = result.outputTruncated
      ? `, output capped: kept ${Buffer.byteLength(result.output)} of ${result.outputBytes} bytes`
      : '';
    this.lines.push(
      `$ ${result.command}`,
      result.output.trimEnd(),
      `[exit ${result.exitCode} in ${result.durationMs} ms${result.timedOut ? ', timed out' : ''}${capped}]`,
      '',
    );
    this.emit({
      kind,
      name,
      allowed: true,
      exitCode: result.exitCode,
      durationMs: result.durationMs,
      outputBytes: result.outputBytes,
      outputTruncated: result.outputTruncated,
      detail: result.timedOut ? `timed out: ${result.command}` : result.command,
    });
  }

  text(): string {
    return this.lines.join('\n');
  }
}
