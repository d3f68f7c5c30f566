/**
 * The harness the change-lifecycle tests share: control activities publishing to a local forge (and reading runs back
 * for re-executions), a scripted execution plane, and the campaigns' change trackers terminated when the file ends.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { createControlActivities } from '../../activities/control';
import { loadConfig } from '../../src/config';
import type { LocalForge } from '../../src/forges/local';
import { changeTrackerWorkflowId } from '../../src/temporal/ids';
import { controlDeps } from '../../src/workers/control-deps';
import { startHarness, type RegattaHarness } from './harness';

export async function startLifecycleHarness(forge: LocalForge, executionActivities: object) {
  const deps = controlDeps(loadConfig());
  const campaigns: string[] = [];
  const harness: RegattaHarness = await startHarness({
    controlActivities: createControlActivities({
      ...deps,
      publish: { ...deps.publish!, forge },
      client: () => harness?.client.temporal,
    }),
    executionActivities,
  });
  return {
    harness,
    /** Campaigns whose trackers are terminated at shutdown (they would poll for minutes after the test). */
    campaigns,
    async shutdown(): Promise<void> {
      for (const id of campaigns)
        await harness.client.temporal.workflow
          .getHandle(changeTrackerWorkflowId(id))
          .terminate('test over')
          .catch(() => undefined);
      await harness.shutdown();
    },
  };
}

/** The CLI pointed at the harness's workers, its standard output parsed as JSON. */
export async function regattaJson<T>(harness: RegattaHarness, ...args: string[]): Promise<T> {
  return JSON.parse(await regattaText(harness, ...args)) as T;
}

/** The CLI pointed at the harness's workers: its standard output, as a person reads it. */
export function regattaText(harness: RegattaHarness, ...args: string[]): Promise<string> {
  const env = {
    ...process.env,
    REGATTA_CONTROL_QUEUE: harness.queues.control,
    REGATTA_EXECUTION_QUEUE: harness.queues.execution,
  };
  const root = path.join(__dirname, '..', '..');
  return new Promise((resolve, reject) =>
    execFile('node', [path.join(root, 'bin/regatta.js'), ...args], { cwd: root, env }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}
