/**
 * What the ecosystem tests share: a harness with the real control activities and sandboxed execution (sandboxes
 * installing Python packages from the stack's index mirror, as the dev stack's execution worker does), a run's
 * artifacts read back from the store, and desired-state schedules fired on demand.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createControlActivities } from '../../activities/control';
import type { ScheduledFiringResult, ScheduleSpecInput } from '../../src/contracts';
import { loadConfig } from '../../src/config';
import { pythonMirrorUrl } from '../../src/dev/python-mirror';
import { controlDeps } from '../../src/workers/control-deps';
import { eventually } from './eventually';
import { realExecutionActivities, startHarness, type RegattaHarness } from './harness';
import { readStackInfo } from './stack';

/** The harness every ecosystem test starts: real Temporal, control activities, Docker sandboxes, the local forge. */
export async function startEcosystemHarness(): Promise<RegattaHarness> {
  process.env.REGATTA_PYTHON_INDEX = readStackInfo().pythonMirror?.url ?? pythonMirrorUrl();
  return startHarness({
    controlActivities: createControlActivities(controlDeps(loadConfig())),
    executionActivities: realExecutionActivities(),
  });
}

/** A run's stored artifacts by name (patch.diff, verification.json, events.json, …), as text. */
export async function artifactsOf(harness: RegattaHarness, runId: string): Promise<Record<string, string>> {
  const run = await harness.client.runStatus(runId);
  return Object.fromEntries(
    run.manifest!.artifacts.map((a) => [a.name, fs.readFileSync(fileURLToPath(a.uri), 'utf8')]),
  );
}

/** A paused schedule `spec` for the length of `use`, which fires it with `fire()` and gets each firing's outcome. */
export async function withSchedule<T>(
  harness: RegattaHarness,
  spec: ScheduleSpecInput,
  use: (fire: () => Promise<ScheduledFiringResult>) => Promise<T>,
): Promise<T> {
  await harness.client.schedules.create({ ...spec, paused: true });
  let fired = 0;
  const fire = async () => {
    await harness.client.schedules.trigger(spec.id);
    fired += 1;
    const described = await eventually(
      () => harness.client.schedules.describe(spec.id),
      (d) => d.recentFirings.length >= fired,
      60_000,
    );
    return harness.client.schedules.firingResult(described.recentFirings.at(-1)!.workflowId);
  };
  try {
    return await use(fire);
  } finally {
    await harness.client.schedules.delete(spec.id);
  }
}
