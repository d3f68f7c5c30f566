/** `regatta report --since <date> [--until <date>]`: what the change requests of a period's campaigns became. */
import type { Command } from 'commander';
import type { ChangeOutcomes, ChangeReport, ReportRow } from '../client';
import { ContractViolationError } from '../contracts/validate';
import { withClient } from './campaign';
import { action, emit, table, type OutputOptions } from './output';

export function registerReportCommands(program: Command): void {
  program
    .command('report')
    .description(
      'change requests opened, merged, reverted; merge rate, time to merge, cost per change; by owner and task type',
    )
    .requiredOption('--since <date>', 'campaigns started at or after this date (ISO 8601, e.g. 2026-12-01)')
    .option('--until <date>', 'and before this date (default: now)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { since: string; until?: string } & OutputOptions) => {
        const since = parseDate('--since', opts.since);
        const until = opts.until !== undefined ? parseDate('--until', opts.until) : new Date();
        return withClient(async (client) => {
          const report = await client.changeReport({ since, until });
          emit(opts, report, () => describeReport(report));
        });
      }),
    );
}

function parseDate(option: string, value: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime()))
    throw new ContractViolationError('option', [
      { path: option, value, expected: 'expected an ISO 8601 date such as 2026-12-01 or 2026-12-01T08:00:00Z' },
    ]);
  return date;
}

const pct = (share?: number) => (share === undefined ? '-' : `${Math.round(share * 1000) / 10}%`);
const hours = (ms?: number) => (ms === undefined ? '-' : `${(ms / 3_600_000).toFixed(1)} h`);
const usd = (n?: number) => (n === undefined ? '-' : `$${n.toFixed(2)}`);

function columns(key: string, o: ChangeOutcomes) {
  return {
    [key]: key,
    opened: o.opened,
    merged: o.merged,
    'merge rate': pct(o.mergeRate),
    closed: o.closedUnmerged,
    reverted: o.reverted,
    'ttm median': hours(o.timeToMergeMs.median),
    'ttm p95': hours(o.timeToMergeMs.p95),
    '$/published': usd(o.costPerPublishedUsd),
    '$/merged': usd(o.costPerMergedUsd),
  };
}

function section(title: string, rows: readonly ReportRow[]): string {
  const lines = rows.map((r) => ({ ...columns(r.key, r.outcomes), [title]: r.key, campaigns: r.campaigns }));
  return lines.length
    ? table(lines, [title, 'campaigns', ...Object.keys(columns('', rows[0].outcomes)).slice(1)])
    : '-';
}

export function describeReport(r: ChangeReport): string {
  const t = r.total;
  return [
    `campaigns started ${r.since} – ${r.until}: ${r.campaigns.length} (${r.unmeasured.length} without measured change requests)`,
    `total     opened ${t.opened}, merged ${t.merged} (${pct(t.mergeRate)}), closed unmerged ${t.closedUnmerged}, reverted ${t.reverted}; ` +
      `time to merge median ${hours(t.timeToMergeMs.median)}, p95 ${hours(t.timeToMergeMs.p95)}; ` +
      `${usd(t.costPerPublishedUsd)} per published, ${usd(t.costPerMergedUsd)} per merged`,
    '',
    section('task type', r.byTaskType),
    '',
    section('owner', r.byOwner),
  ].join('\n');
}
