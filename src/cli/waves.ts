/** `regatta campaign advance|abort-wave`, and how a rollout and its change outcomes read in `campaign status`. */
import type { Command } from 'commander';
import type { ChangeOutcomes, RolloutProgress } from '../client';
import { action, emit, table, type OutputOptions } from './output';
import { withClient } from './campaign';

export function registerWaveCommands(campaign: Command): void {
  for (const verb of ['advance', 'abort-wave'] as const) {
    campaign
      .command(`${verb} <campaignId>`)
      .description(
        verb === 'advance'
          ? 'start the next wave now, whatever its gate says (recorded with who and why)'
          : 'stop the rollout after the current wave; targets not yet admitted are skipped (recorded with who and why)',
      )
      .option('--by <name>', 'who decides', process.env.USER ?? 'cli')
      .option('--reason <text>', 'why')
      .option('--json', 'machine-readable output')
      .action(
        action(async (campaignId: string, opts: { by: string; reason?: string } & OutputOptions) =>
          withClient(async (client) => {
            const rollout =
              verb === 'advance'
                ? await client.advanceWave(campaignId, opts.by, opts.reason)
                : await client.abortWave(campaignId, opts.by, opts.reason);
            emit(opts, rollout, () => describeRollout(rollout));
          }),
        ),
      );
  }
}

export function describeRollout(r: RolloutProgress): string {
  const rows = r.waves.map((w) => ({
    wave: w.name,
    admitted: `${w.admitted}/${w.size}`,
    status: w.status,
    merged: w.outcomes ? `${w.outcomes.merged}/${w.outcomes.opened}` : '-',
    gate: w.gateReasons?.join('; ') || (w.figures ? 'held' : '-'),
    decided: w.decision
      ? `${w.decision.action} by ${w.decision.by}${w.decision.reason ? `: ${w.decision.reason}` : ''}`
      : '',
  }));
  const head = `rollout   wave ${r.current} ${r.status}${r.reason ? `: ${r.reason}` : ''}`;
  return `${head}\n${table(rows, ['wave', 'admitted', 'status', 'merged', 'gate', 'decided'])}`;
}

const duration = (ms?: number) =>
  ms === undefined ? '-' : ms < 3_600_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`;
const usd = (n?: number) => (n === undefined ? '-' : `$${n.toFixed(2)}`);

export function describeOutcomes(o: ChangeOutcomes): string {
  const rate = o.mergeRate === undefined ? '-' : `${Math.round(o.mergeRate * 100)}%`;
  return (
    `changes   opened ${o.opened}, merged ${o.merged} (${rate}), closed unmerged ${o.closedUnmerged}, reverted ${o.reverted}, open ${o.open}\n` +
    `          time to merge median ${duration(o.timeToMergeMs.median)}, p95 ${duration(o.timeToMergeMs.p95)}; ` +
    `cost ${usd(o.costUsd)}, ${usd(o.costPerPublishedUsd)} per published, ${usd(o.costPerMergedUsd)} per merged`
  );
}
