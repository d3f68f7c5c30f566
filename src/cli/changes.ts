/** `regatta changes …`: the change requests Regatta opened, listed and closed through the configured forge. */
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { forgeFor } from '../forges';
import { action, emit, table, type OutputOptions } from './output';

export function registerChangeCommands(program: Command): void {
  const changes = program.command('changes').description('change requests opened by Regatta');

  changes
    .command('list')
    .description('change requests, optionally of one repository or in one state')
    .option('--repo <owner/name>', 'repository (required for the github forge)')
    .option('--state <state>', 'open, merged or closed')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { repo?: string; state?: 'open' | 'merged' | 'closed' } & OutputOptions) => {
        if (opts.state && !['open', 'merged', 'closed'].includes(opts.state))
          throw new Error(`--state: got "${opts.state}"; expected open, merged or closed`);
        const listed = await forgeFor(loadConfig()).listChangeRequests({ repo: opts.repo, state: opts.state });
        emit(opts, listed, () =>
          listed.length
            ? table(
                listed.map((c) => ({
                  repo: c.repo,
                  number: `#${c.number}`,
                  state: c.state,
                  branch: c.branch,
                  url: c.url,
                })),
                ['repo', 'number', 'state', 'branch', 'url'],
              )
            : 'no change requests',
        );
      }),
    );

  changes
    .command('close <repo> <number>')
    .description('close a change request without merging (the campaign will not reopen it unless asked)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (repo: string, number: string, opts: OutputOptions) => {
        const n = Number(number);
        if (!Number.isInteger(n) || n < 1)
          throw new Error(`number: got "${number}"; expected a change request number such as 3`);
        const closed = await forgeFor(loadConfig()).closeChangeRequest({ name: repo, url: '' }, n);
        emit(opts, closed, () => `${repo}#${n} is ${closed.state}`);
      }),
    );
}
