/** `scripts/test.sh` runs this first, so a fresh machine gets its apt packages and Go tools before jest starts. */
import { ensureAptPackages, ensureTools, TEST_APT_PACKAGES } from './tools';

const log = (message: string) => process.stderr.write(`[tools] ${message}\n`);

async function main(): Promise<void> {
  const tools = await ensureTools(log);
  if (process.argv.includes('--for-tests')) await ensureAptPackages([...TEST_APT_PACKAGES], log);
  log(`ready: temporal ${tools.temporal}, versitygw ${tools.versitygw}`);
}

main().catch((err: unknown) => {
  log((err as Error).message);
  process.exit(1);
});
