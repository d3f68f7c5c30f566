/** Entry point of the git server service that `regatta dev up` runs detached. */
import { loadConfig } from '../config';
import { fleetRepoRoot } from './fleet';
import { startGitServer } from './git-server';

async function main(): Promise<void> {
  const config = loadConfig();
  const root = fleetRepoRoot(config.home);
  const server = await startGitServer({ root, port: config.gitPort, onError: (message) => console.error(message) });
  console.log(`git server serving ${root} at ${server.baseUrl}`);
  const shutdown = () => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
