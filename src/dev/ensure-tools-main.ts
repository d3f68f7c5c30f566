/** `scripts/test.sh` runs this first, so a fresh machine gets its apt packages and Go tools before jest starts. */
import { ensureTools } from './tools';

ensureTools((message) => process.stderr.write(`[tools] ${message}\n`)).then(
  (tools) => process.stderr.write(`[tools] ready: temporal ${tools.temporal}, versitygw ${tools.versitygw}\n`),
  (err: unknown) => {
    process.stderr.write(`[tools] ${(err as Error).message}\n`);
    process.exit(1);
  },
);
