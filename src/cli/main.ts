/** The `regatta` command line; each command group lives in its own file and registers itself here. */
import { Command } from 'commander';
import { registerArtifactCommands } from './artifacts';
import { registerCampaignCommands } from './campaign';
import { registerChangeCommands } from './changes';
import { registerDevCommands } from './dev';
import { registerRunCommands } from './runs';
import { registerScheduleCommands } from './schedule';

const program = new Command('regatta')
  .description('durable fleet-wide code changes on Temporal')
  .showHelpAfterError();

for (const register of [registerDevCommands, registerCampaignCommands, registerRunCommands, registerScheduleCommands, registerArtifactCommands, registerChangeCommands]) register(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
