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

/** Source folders the workflow bundle is built from; a change in any of them makes the bundle stale. */
const BUNDLED_SOURCES = ['workflows', 'src/contracts', 'src/temporal', 'src/desired-state', 'src/text', 'policies'].map(
  (dir) => path.resolve(__dirname, '../..', dir),
);

function newestSourceMtime(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else newest = Math.max(newest, fs.statSync(full).mtimeMs);
    }
  };
  BUNDLED_SOURCES.filter((dir) => fs.existsSync(dir)).forEach(walk);
  return newest;
}

export async function workflowBundle(): Promise<{ codePath: string }> {
  const file = bundlePath();
  if (!fs.existsSync(file) || fs.statSync(file).mtimeMs < newestSourceMtime()) await prepareWorkflowBundle();
  return { codePath: file };
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
