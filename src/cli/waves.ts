/** `regatta campaign advance (advance-wave)|abort-wave`, and how a rollout and its change outcomes read in `campaign status`. */
import type { Command } from 'commander';
import { z } from 'zod';
import type { ChangeOutcomes, RegattaClient, RolloutProgress } from '../client';
import { ContractViolationError } from '../contracts/validate';
import { action, emit, table, type OutputOptions } from './output';
import { withClient } from './campaign';

/** Who decides and why: both are recorded on the wave, so neither may be blank. */
const WaveDecisionOptions = z.object({
  by: z.string().trim().min(1, 'expected who decides (a name)'),
  reason: z.string({ error: 'expected why, recorded on the wave with who decided' }).trim().min(1, {
    error: 'expected why, recorded on the wave with who decided',
  }),
  wave: z.string().trim().min(1, 'expected the name of the wave being decided').optional(),
});

export function registerWaveCommands(campaign: Command): void {
  for (const verb of ['advance', 'abort-wave'] as const) {
    const command = campaign
      .command(`${verb} <campaignId>`)
      .description(
        verb === 'advance'
          ? 'start the next wave now, whatever its gate says (recorded with who and why)'
          : 'stop the rollout after the current wave; targets not yet admitted are skipped (recorded with who and why)',
      );
    if (verb === 'advance') command.alias('advance-wave');
    command
      .option('--by <name>', 'who decides', process.env.USER ?? 'cli')
      .option('--reason <text>', 'why (required; recorded on the wave)')
      .option('--wave <name>', 'the wave you mean to decide: refused unless it is the current one')
      .option('--json', 'machine-readable output')
      .action(
        action(async (campaignId: string, raw: { by: string; reason?: string; wave?: string } & OutputOptions) => {
          const opts = parseOptions(raw);
          return withClient(async (client) => {
            if (opts.wave) await checkCurrentWave(client, campaignId, opts.wave);
            const rollout =
              verb === 'advance'
                ? await client.advanceWave(campaignId, opts.by, opts.reason)
                : await client.abortWave(campaignId, opts.by, opts.reason);
            emit(raw, rollout, () => describeRollout(rollout));
          });
        }),
      );
  }
}

function parseOptions(raw: { by: string; reason?: string; wave?: string }) {
  const parsed = WaveDecisionOptions.safeParse({ by: raw.by, reason: raw.reason, wave: raw.wave });
  if (parsed.success) return parsed.data;
  throw new ContractViolationError(
    'option',
    parsed.error.issues.map((issue) => {
      const field = String(issue.path[0]) as keyof typeof raw;
      return { path: `--${field}`, value: raw[field], expected: issue.message };
    }),
  );
}

/** `--wave` names the wave the person is looking at; a rollout that has moved on (or a typo) is refused, not decided. */
async function checkCurrentWave(client: RegattaClient, campaignId: string, wave: string): Promise<void> {
  const { rollout } = await client.campaignProgress(campaignId);
  const names = rollout?.waves.map((w) => w.name) ?? [];
  if (!rollout || !names.includes(wave))
    throw new ContractViolationError('option', [
      {
        path: '--wave',
        value: wave,
        expected: rollout
          ? `expected one of campaign ${campaignId}'s waves: ${names.join(', ')}`
          : `expected no --wave: campaign ${campaignId} has no rollout`,
      },
    ]);
  if (rollout.current !== wave)
    throw new ContractViolationError('option', [
      {
        path: '--wave',
        value: wave,
        expected: `expected the current wave of campaign ${campaignId}, ${rollout.current}`,
      },
    ]);
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
