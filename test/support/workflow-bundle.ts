/** Bundles the workflows once per test run (jest's global setup) and hands every test file the same bundle. */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { WORKFLOWS_PATH } from '../../src/workers/control-worker';

const bundlePath = () => path.join(loadConfig().home, 'test', 'workflow-bundle.js');

export async function prepareWorkflowBundle(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  fs.mkdirSync(path.dirname(bundlePath()), { recursive: true });
  fs.writeFileSync(bundlePath(), code);
}

export async function workflowBundle(): Promise<{ codePath: string }> {
  if (!fs.existsSync(bundlePath())) await prepareWorkflowBundle();
  return { codePath: bundlePath() };
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
