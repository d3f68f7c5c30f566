/** Brings up the real local stack once per test run; tests start their own workers in-process. */
import { ensureStack } from '../../src/dev/stack';
import { prepareWorkflowBundle } from './workflow-bundle';

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  await ensureStack({ workers: false, log: (message) => process.stderr.write(`[stack] ${message}\n`) });
  await prepareWorkflowBundle();
  process.stderr.write(`[stack] ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
}
