/** `regatta runs list` and `regatta run …`: find runs, read their evidence, approve, reject, retry publishing. */
import type { Command } from 'commander';
import { RUN_STATES, type RunState } from '../contracts';
import { RunNotFoundError } from '../client/errors';
import { campaignIdOfRun } from '../temporal/ids';
import { withClient } from './campaign';
import { action, emit, runReasons, table, type OutputOptions } from './output';

export function registerRunCommands(program: Command): void {
  program
    .command('runs')
    .description('list runs')
    .command('list')
    .description("list a campaign's runs, filtered through the search attributes")
    .requiredOption('--campaign <id>', 'campaign id')
    .option('--state <state>', `one of ${RUN_STATES.join(', ')}`)
    .option('--repo <owner/name>', 'repository')
    .option('--owner <team>', 'owning team')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { campaign: string; state?: string; repo?: string; owner?: string } & OutputOptions) => {
        if (opts.state && !RUN_STATES.includes(opts.state as RunState)) {
          throw new Error(`--state: got "${opts.state}"; expected one of ${RUN_STATES.join(', ')}`);
        }
        return withClient(async (client) => {
          const listed = await client.listRuns(opts.campaign, {
            state: opts.state as RunState | undefined,
            repo: opts.repo,
            owner: opts.owner,
          });
          const reasons = await runReasons(client, listed);
          const runs = listed.map((r) => ({ ...r, reason: reasons.get(r.runId) }));
          emit(opts, runs, () =>
            runs.length ? table(runs, ['repo', 'state', 'owner', 'status', 'runId', 'reason']) : 'no runs match',
          );
        });
      }),
    );

  const run = program.command('run').description('inspect and steer one run');

  run
    .command('show <runId>')
    .description('events, evidence and artifact links of a run')
    .option('--json', 'machine-readable output')
    .action(
      action(async (runId: string, opts: OutputOptions) =>
        withClient(async (client) => {
          const summary = await client.runStatus(runId);
          emit(opts, summary, () =>
            [
              `run ${summary.runId} (${summary.repo}): ${summary.state}`,
              summary.failure ? `failure: ${summary.failure.kind}: ${summary.failure.message}` : undefined,
              summary.specHash ? `spec ${summary.specHash}` : undefined,
              '',
              table(
                summary.events.map((e) => ({ at: e.at, state: e.to, note: e.note })),
                ['at', 'state', 'note'],
              ),
              summary.touchedFiles.length
                ? `\ntouched files:\n${summary.touchedFiles.map((f) => `  ${f}`).join('\n')}`
                : undefined,
              summary.manifest
                ? `\nartifacts:\n${table(
                    summary.manifest.artifacts.map((a) => ({ ...a })),
                    ['name', 'type', 'size', 'uri'],
                  )}`
                : undefined,
            ]
              .filter((line) => line !== undefined)
              .join('\n'),
          );
        }),
      ),
    );

  for (const verb of ['approve', 'reject'] as const) {
    run
      .command(`${verb} <runId>`)
      .description(`${verb} a run that is awaiting approval`)
      .option('--by <name>', 'who decides', process.env.USER ?? 'cli')
      .option('--comment <text>', 'a note kept with the decision')
      .option('--json', 'machine-readable output')
      .action(
        action(async (runId: string, opts: { by: string; comment?: string } & OutputOptions) => {
          const campaignId = campaignIdOfRun(runId);
          if (!campaignId) throw new RunNotFoundError(runId);
          return withClient(async (client) => {
            const report =
              verb === 'approve'
                ? await client.approveRun(campaignId, runId, opts.by, opts.comment)
                : await client.rejectRun(campaignId, runId, opts.by, opts.comment);
            emit(
              opts,
              report,
              () => `run ${runId}: ${verb === 'approve' ? 'approved' : 'rejected'} by ${opts.by}; now ${report.state}`,
            );
          });
        }),
      );
  }

  run
    .command('retry-publish <runId>')
    .description('publish a run whose publishing failed again, without executing it again')
    .option('--by <name>', 'who asks', process.env.USER ?? 'cli')
    .option('--json', 'machine-readable output')
    .action(
      action(async (runId: string, opts: { by: string } & OutputOptions) =>
        withClient(async (client) => {
          const summary = await client.retryPublish(runId, opts.by);
          emit(
            opts,
            summary,
            () =>
              `run ${runId}: ${summary.state}${summary.events.at(-1)?.note ? ` (${summary.events.at(-1)!.note})` : ''}`,
          );
        }),
      ),
    );
}
