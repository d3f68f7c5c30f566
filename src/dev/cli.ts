/**
 * `regatta dev up|status|down`: the local stack on real components, started and reported by the project itself.
 * Part of the dev stack, so the CLI registers it only where src/dev is (a checkout, not the installed package).
 */
import type { Command } from 'commander';
import { action, emit, EXIT, table, type OutputOptions } from '../cli/output';
import { loadConfig } from '../config';
import { describeExecutionSlots } from '../workers/execution-slots';
import { ensureStack, stackStatus, stopStack, type StackStatus } from './stack';
import { executionWorkerSlots, workerServiceName } from './workers';

export function registerDevCommands(program: Command): void {
  const dev = program
    .command('dev')
    .description('run the local stack: Docker, Temporal, sandbox image, git fleet, workers');

  dev
    .command('up')
    .description('bring the local stack up (idempotent: reuses what already runs)')
    .option('--no-workers', 'do not start the control and execution worker processes')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { workers: boolean } & OutputOptions) => {
        const started = Date.now();
        const log = (message: string) => {
          if (!opts.json) process.stderr.write(`• ${message}\n`);
        };
        const info = await ensureStack({ workers: opts.workers, log });
        const status = withExecutionSlots(await stackStatus());
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        emit(
          opts,
          { info, status },
          () =>
            `${describeStatus(status)}\n\nstack up in ${seconds}s\nTemporal Web UI: ${info.uiUrl}\nfleet: ${info.targets.map((t) => t.url).join('\n       ')}`,
        );
        return status.healthy ? EXIT.ok : EXIT.failure;
      }),
    );

  dev
    .command('status')
    .description("report each component's health")
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: OutputOptions) => {
        const status = withExecutionSlots(await stackStatus());
        emit(opts, status, () => describeStatus(status));
        return status.healthy ? EXIT.ok : EXIT.failure;
      }),
    );

  dev
    .command('down')
    .description('stop the services `dev up` started (data in the home directory is kept)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: OutputOptions) => {
        const stopped = await stopStack();
        emit(opts, { stopped }, () =>
          stopped.length ? `stopped: ${stopped.join(', ')}` : 'nothing of ours was running',
        );
        return EXIT.ok;
      }),
    );
}

/** The execution worker's row also says how many runs it takes at once, and whether the setting or its host chose that. */
export function withExecutionSlots(status: StackStatus, config = loadConfig()): StackStatus {
  const slots = executionWorkerSlots(config);
  if (!slots) return status;
  const row = workerServiceName('execution');
  return {
    ...status,
    components: status.components.map((c) =>
      c.name === row ? { ...c, detail: `${c.detail}, ${describeExecutionSlots(slots)}` } : c,
    ),
  };
}

export function describeStatus(status: StackStatus): string {
  const rows = status.components.map((c) => ({
    component: c.name,
    health: c.healthy ? 'ok' : 'DOWN',
    detail: c.error && !c.healthy ? `${c.detail} — ${c.error}` : c.detail,
  }));
  return `${table(rows, ['component', 'health', 'detail'])}\n\n${status.healthy ? 'stack healthy' : 'stack NOT healthy'}`;
}
