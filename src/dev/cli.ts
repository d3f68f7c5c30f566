/**
 * `regatta dev up|status|down`: the local stack on real components, started and reported by the project itself.
 * Part of the dev stack, so the CLI registers it only where src/dev is (a checkout, not the installed package).
 */
import type { Command } from 'commander';
import { action, emit, EXIT, table, type OutputOptions } from '../cli/output';
import { loadConfig } from '../config';
import { describeExecutionSlots } from '../workers/execution-slots';
import { clusterStatus, ensureCluster, stopCluster, type ClusterStatus } from './cluster';
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
    .option('--cluster', 'bring up the real Temporal cluster (PostgreSQL and four services) instead of the stack')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { workers: boolean; cluster?: boolean } & OutputOptions) => {
        const started = Date.now();
        const log = (message: string) => {
          if (!opts.json) process.stderr.write(`• ${message}\n`);
        };
        if (opts.cluster) {
          const home = loadConfig().home;
          const info = await ensureCluster(home, log);
          const status = await clusterStatus(home);
          const seconds = ((Date.now() - started) / 1000).toFixed(1);
          emit(
            opts,
            { info, status },
            () =>
              `${describeClusterStatus(status)}\n\ncluster up in ${seconds}s\nTemporal frontend: ${info.address}${info.uiUrl ? `\nWeb UI: ${info.uiUrl}` : ''}`,
          );
          return status.healthy ? EXIT.ok : EXIT.failure;
        }
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
    .option('--cluster', "report the real Temporal cluster's services and database instead")
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { cluster?: boolean } & OutputOptions) => {
        if (opts.cluster) {
          const status = await clusterStatus(loadConfig().home);
          emit(opts, status, () => describeClusterStatus(status));
          return status.healthy ? EXIT.ok : EXIT.failure;
        }
        const status = withExecutionSlots(await stackStatus());
        emit(opts, status, () => describeStatus(status));
        return status.healthy ? EXIT.ok : EXIT.failure;
      }),
    );

  dev
    .command('down')
    .description('stop the services `dev up` started (data in the home directory is kept)')
    .option('--cluster', 'stop only the real Temporal cluster (its database files are kept)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { cluster?: boolean } & OutputOptions) => {
        const stopped = opts.cluster ? await stopCluster(loadConfig().home) : await stopStack();
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

export function describeClusterStatus(status: ClusterStatus): string {
  const rows = status.components.map((c) => ({
    component: c.name,
    health: c.healthy ? 'ok' : 'DOWN',
    pid: c.pid ? String(c.pid) : '-',
    rss: c.rssMb !== undefined ? `${c.rssMb} MiB` : '-',
    detail: c.detail,
  }));
  return `${table(rows, ['component', 'health', 'pid', 'rss', 'detail'])}\n\n${status.healthy ? 'cluster healthy' : 'cluster NOT healthy'}`;
}
