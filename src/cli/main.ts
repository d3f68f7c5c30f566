/** The `regatta` command line; each command group lives in its own file and registers itself here. */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { registerArtifactCommands } from './artifacts';
import { registerCampaignCommands } from './campaign';
import { registerChangeCommands } from './changes';
import { registerReportCommands } from './report';
import { registerRunCommands } from './runs';
import { registerScheduleCommands } from './schedule';

/**
 * `regatta dev` belongs to the dev stack (src/dev), which a checkout has and the installed package leaves out; it is
 * loaded by path so that neither the SDK build nor the package needs src/dev.
 */
function registerDevCommandsWhereTheDevStackIs(program: Command): void {
  const devCommands = path.join(__dirname, '..', 'dev', 'cli');
  if (!['.ts', '.js'].some((extension) => fs.existsSync(`${devCommands}${extension}`))) return;
  (require(devCommands) as { registerDevCommands(program: Command): void }).registerDevCommands(program);
}

const program = new Command('regatta').description('durable fleet-wide code changes on Temporal').showHelpAfterError();

for (const register of [
  registerDevCommandsWhereTheDevStackIs,
  registerCampaignCommands,
  registerRunCommands,
  registerScheduleCommands,
  registerArtifactCommands,
  registerChangeCommands,
  registerReportCommands,
])
  register(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
