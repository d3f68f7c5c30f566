/** `regatta campaign …`: start, follow, pause, resume and cancel campaigns. */
import type { Command } from 'commander';
import {
  DEFAULT_CAMPAIGN_LIST_LIMIT,
  RegattaClient,
  type Burndown,
  type CampaignListing,
  type CampaignProgress,
  type CampaignResult,
} from '../client';
import { loadCampaignSpecFile } from '../client/spec-file';
import { ContractViolationError } from '../contracts/validate';
import { action, bar, emit, EXIT, runReasons, table, type OutputOptions } from './output';
import { describeOutcomes, describeRollout, registerWaveCommands } from './waves';

export async function withClient<T>(
  use: (client: RegattaClient) => Promise<T>,
  options: { requestedBy?: string } = {},
): Promise<T> {
  const client = await RegattaClient.connect(undefined, options);
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

export function registerCampaignCommands(program: Command): void {
  const campaign = program.command('campaign').description('start and steer campaigns');

  campaign
    .command('start')
    .description('start a campaign from a YAML spec (idempotent by campaign id)')
    .requiredOption('-f, --file <spec.yaml>', 'campaign spec file')
    .option('--preview', 'collect evidence, never publish')
    .option(
      '--requested-by <name>',
      "who asks, recorded on every run (default: the spec's requestedBy, else your OS user)",
    )
    .option('--wait', 'wait for the campaign to finish and print its outcomes')
    .option('--json', 'machine-readable output')
    .action(
      action(
        async (opts: { file: string; preview?: boolean; requestedBy?: string; wait?: boolean } & OutputOptions) => {
          const spec = loadCampaignSpecFile(opts.file, { preview: opts.preview, requestedBy: opts.requestedBy });
          return withClient(
            async (client) => {
              const started = await client.startCampaign(spec, opts.file);
              if (!opts.wait) {
                emit(
                  opts,
                  started,
                  () =>
                    `${started.started ? 'started' : 'already exists:'} campaign ${started.campaignId}\n${started.uiUrl}`,
                );
                return EXIT.ok;
              }
              const result = await client.campaignResult(spec.id);
              const reasons = await runReasons(client, result.runs);
              const runs = result.runs.map((r) => ({ ...r, reason: reasons.get(r.runId) }));
              emit(
                opts,
                { ...started, result: { ...result, runs } },
                () => `campaign ${spec.id} finished\n${describeResult(runs)}\n${started.uiUrl}`,
              );
              return result.counts.failed ? EXIT.runsFailed : EXIT.ok;
            },
            { requestedBy: opts.requestedBy },
          );
        },
      ),
    );

  campaign
    .command('list')
    .description('campaigns, newest first, with status, start time and their runs by state')
    .option('--running', 'only campaigns still running (paused ones included)')
    .option('--limit <n>', `at most this many (1 to ${MAX_CAMPAIGN_LIST_LIMIT})`, String(DEFAULT_CAMPAIGN_LIST_LIMIT))
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { running?: boolean; limit: string } & OutputOptions) => {
        const limit = parseLimit(opts.limit);
        return withClient(async (client) => {
          const listed = await client.listCampaigns({ running: opts.running, limit });
          emit(opts, listed, () => describeCampaigns(listed, opts.running));
        });
      }),
    );

  campaign
    .command('status <campaignId>')
    .description('progress by state, budget, and the table of runs')
    .option('--watch', 'redraw until the campaign has settled')
    .option('--json', 'machine-readable output')
    .action(
      action(async (campaignId: string, opts: { watch?: boolean } & OutputOptions) =>
        withClient(async (client) => {
          for (;;) {
            const progress = await client.campaignProgress(campaignId);
            const burndown = await client.campaignBurndown(campaignId);
            const listed = await client.listRuns(campaignId);
            const reasons = await runReasons(client, listed);
            const runs = listed.map((r) => ({ ...r, reason: reasons.get(r.runId) }));
            if (opts.watch && !opts.json && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
            const burn =
              `burndown  done ${burndown.done}, open ${burndown.open} (${burndown.checksFailing} with failing checks), pending ${burndown.pending}, failed ${burndown.failed}` +
              lifecycleLine(burndown);
            emit(
              opts,
              { progress, burndown, runs },
              () =>
                `${describeProgress(progress)}\n${burn}\n\n${table(runs, ['repo', 'state', 'owner', 'runId', 'reason'])}` +
                lifecycleNotes(burndown),
            );
            const settled =
              progress.admitted === progress.total &&
              progress.inFlight === 0 &&
              !progress.counts.needs_approval &&
              !progress.counts.publishing;
            if (!opts.watch || settled) return EXIT.ok;
            await new Promise((r) => setTimeout(r, 1000));
          }
        }),
      ),
    );

  for (const verb of ['pause', 'resume'] as const) {
    campaign
      .command(`${verb} <campaignId>`)
      .description(verb === 'pause' ? 'stop admitting new runs' : 'admit runs again (also resets the circuit breaker)')
      .option('--reason <text>', 'why', `${verb}d from the CLI`)
      .option('--json', 'machine-readable output')
      .action(
        action(async (campaignId: string, opts: { reason: string } & OutputOptions) =>
          withClient(async (client) => {
            if (verb === 'pause') await client.pauseCampaign(campaignId, opts.reason);
            else await client.resumeCampaign(campaignId);
            emit(opts, { campaignId, [verb]: true }, () => `campaign ${campaignId} ${verb}d`);
          }),
        ),
      );
  }

  registerWaveCommands(campaign);

  campaign
    .command('cancel <campaignId>')
    .description('cancel running runs (and their sandboxes) and admit no more')
    .option('--by <name>', 'who cancels', process.env.USER ?? 'cli')
    .option('--reason <text>', 'why')
    .option('--json', 'machine-readable output')
    .action(
      action(async (campaignId: string, opts: { by: string; reason?: string } & OutputOptions) =>
        withClient(async (client) => {
          const progress = await client.cancelCampaign(campaignId, opts.by, opts.reason);
          emit(opts, progress, () => `campaign ${campaignId} cancelled\n${describeProgress(progress)}`);
        }),
      ),
    );
}

const MAX_CAMPAIGN_LIST_LIMIT = 1000;

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!/^\d+$/.test(value.trim()) || limit < 1 || limit > MAX_CAMPAIGN_LIST_LIMIT) {
    throw new ContractViolationError('option', [
      { path: '--limit', value, expected: `expected a whole number from 1 to ${MAX_CAMPAIGN_LIST_LIMIT}` },
    ]);
  }
  return limit;
}

function describeCampaigns(campaigns: readonly CampaignListing[], running?: boolean): string {
  if (campaigns.length === 0) return running ? 'no running campaigns' : 'no campaigns';
  const rows = campaigns.map((c) => ({
    campaign: c.campaignId,
    status: c.status,
    started: c.startedAt,
    runs: c.runs.total,
    states: Object.entries(c.runs.byState)
      .map(([state, n]) => `${state}=${n}`)
      .join(' '),
  }));
  return table(rows, ['campaign', 'status', 'started', 'runs', 'states']);
}

export function describeProgress(p: CampaignProgress): string {
  const settled = Object.entries(p.counts)
    .filter(([state]) => !['pending', 'executing', 'needs_approval', 'publishing'].includes(state))
    .reduce((n, [, count]) => n + (count ?? 0), 0);
  const lines = [
    `campaign ${p.campaignId}`,
    `settled   ${bar(settled, p.total)}`,
    `admitted  ${bar(p.admitted, p.total)}  (${p.inFlight} in flight)`,
    `states    ${
      Object.entries(p.counts)
        .map(([s, n]) => `${s}=${n}`)
        .join(' ') || '-'
    }`,
    `budget    $${p.budget.spentUsd.toFixed(2)} spent, $${p.budget.leftUsd.toFixed(2)} left of $${p.budget.limitUsd}`,
  ];
  if (p.pausedReason) lines.push(`paused    ${p.pausedReason}`);
  if (p.stoppedReason) lines.push(`stopped   ${p.stoppedReason}`);
  if (p.rollout) lines.push(describeRollout(p.rollout));
  if (p.outcomes) lines.push(describeOutcomes(p.outcomes));
  if (p.publishing.heldUntil)
    lines.push(
      `publishing held until ${p.publishing.heldUntil} (${p.publishing.grantedInWindow} of ${p.publishing.max} per ${p.publishing.windowMs / 1000} s used)`,
    );
  return lines.join('\n');
}

export function describeResult(runs: readonly (CampaignResult['runs'][number] & { reason?: string })[]): string {
  return table(
    runs.map((r) => ({ repo: r.repo, state: r.state, reason: r.reason })),
    ['repo', 'state', 'reason'],
  );
}

/** Each change request the lifecycle has something to say of: its latest event, and what automerge waits for. */
function lifecycleNotes(burndown: Burndown): string {
  const noted = burndown.changes.filter((c) => c.note || c.automerge);
  if (noted.length === 0) return '';
  const rows = noted.map((c) => ({
    change: c.repo,
    state: c.state,
    checks: c.checks,
    note: c.note,
    automerge: c.automerge,
  }));
  return `\n\n${table(rows, ['change', 'state', 'checks', 'note', 'automerge'])}`;
}

/** The change lifecycle's counts, where the tracker keeps change requests alive (trackers started before it report none). */
function lifecycleLine(burndown: Burndown): string {
  if (burndown.merged === undefined) return '';
  return `\nlifecycle merged ${burndown.merged}, closed ${burndown.closed ?? 0}, reverted ${burndown.reverted ?? 0}, rebased ${burndown.rebased ?? 0}, re-executed ${burndown.reexecuted ?? 0}, superseded ${burndown.superseded ?? 0}${
    burndown.withoutLifecycle
      ? `\n          ${burndown.withoutLifecycle} change request(s) beyond the first ${burndown.changes.length} are polled only, without the lifecycle`
      : ''
  }`;
}
