/** `regatta schedule …`: recurring desired-state campaigns on Temporal Schedules. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse } from 'yaml';
import type { RegattaClient } from '../client';
import { withClient } from './campaign';
import { action, emit, table, type OutputOptions } from './output';

export function registerScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('recurring campaigns');

  schedule
    .command('create')
    .description('create a schedule from a YAML spec (cron or every, desired state, campaign template)')
    .requiredOption('-f, --file <schedule.yaml>', 'schedule spec file')
    .option(
      '--requested-by <name>',
      "who asks, recorded on every firing's runs (default: the template's requestedBy, else your OS user)",
    )
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { file: string; requestedBy?: string } & OutputOptions) =>
        withClient(
          async (client) => {
            const listing = await client.schedules.create(parse(readFileSync(opts.file, 'utf8')), opts.file);
            emit(
              opts,
              listing,
              () =>
                `schedule ${listing.scheduleId} created; next firings: ${listing.nextFirings.slice(0, 3).join(', ') || 'none'}`,
            );
          },
          { requestedBy: opts.requestedBy },
        ),
      ),
    );

  schedule
    .command('list')
    .description('schedules with their next and recent firings')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: OutputOptions) =>
        withClient(async (client) => {
          const schedules = await client.schedules.list();
          emit(opts, schedules, () =>
            schedules.length
              ? table(
                  schedules.map((s) => ({
                    id: s.scheduleId,
                    paused: s.paused ? 'yes' : 'no',
                    next: s.nextFirings[0] ?? '-',
                    last: s.recentFirings.at(-1)?.workflowId ?? '-',
                  })),
                  ['id', 'paused', 'next', 'last'],
                )
              : 'no schedules',
          );
        }),
      ),
    );

  const simple = [
    ['pause', 'stop firing until unpaused', (c: RegattaClient, id: string) => c.schedules.pause(id)],
    ['unpause', 'fire again', (c: RegattaClient, id: string) => c.schedules.unpause(id)],
    ['trigger', 'fire now', (c: RegattaClient, id: string) => c.schedules.trigger(id)],
    [
      'delete',
      'delete the schedule (campaigns it started are kept)',
      (c: RegattaClient, id: string) => c.schedules.delete(id),
    ],
  ] as const;
  for (const [verb, description, run] of simple) {
    schedule
      .command(`${verb} <scheduleId>`)
      .description(description)
      .option('--json', 'machine-readable output')
      .action(
        action(async (scheduleId: string, opts: OutputOptions) =>
          withClient(async (client) => {
            await run(client, scheduleId);
            emit(opts, { scheduleId, [verb]: true }, () => `schedule ${scheduleId}: ${verb} done`);
          }),
        ),
      );
  }

  schedule
    .command('backfill <scheduleId>')
    .description('run the firings the schedule would have had in a past interval')
    .requiredOption('--from <iso-time>', 'start of the interval')
    .requiredOption('--to <iso-time>', 'end of the interval')
    .option('--json', 'machine-readable output')
    .action(
      action(async (scheduleId: string, opts: { from: string; to: string } & OutputOptions) => {
        const [from, to] = [new Date(opts.from), new Date(opts.to)];
        if (Number.isNaN(from.valueOf()))
          throw new Error(`--from: got "${opts.from}"; expected an ISO time such as 2026-11-01T00:00:00Z`);
        if (Number.isNaN(to.valueOf()))
          throw new Error(`--to: got "${opts.to}"; expected an ISO time such as 2026-11-08T00:00:00Z`);
        return withClient(async (client) => {
          await client.schedules.backfill(scheduleId, from, to);
          emit(
            opts,
            { scheduleId, from, to },
            () => `schedule ${scheduleId}: backfill from ${opts.from} to ${opts.to} requested`,
          );
        });
      }),
    );
}
