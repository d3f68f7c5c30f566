/**
 * Campaigns, runs and change trackers live for weeks (approvals wait 7 days, tracking 14), so today's workflow code
 * must replay every history a release in use recorded (scripts/record-histories.ts, indexed in recorded.json).
 * A change that fails here needs `patched()`, a new workflow type or Worker Versioning (README: Changing workflow code).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { RecordedHistory } from '../../scripts/record-histories';
import { WORKFLOWS_PATH } from '../../src/workers/control-worker';
import { workflowBundle } from '../support/workflow-bundle';

const histories = path.join(__dirname, '..', 'fixtures', 'histories');
const recorded: RecordedHistory[] = JSON.parse(fs.readFileSync(path.join(histories, 'recorded.json'), 'utf8'));

function historyOf(entry: RecordedHistory) {
  return temporal.api.history.v1.History.decode(fs.readFileSync(path.join(histories, entry.file)));
}

beforeAll(() => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Installed already by an earlier test file in this process.
  }
});

it.each(recorded.map((entry) => [entry.label, entry.name, entry] as const))(
  '%s %s replays on today’s workflow code',
  async (_label, _name, entry) => {
    const history = historyOf(entry);
    expect(history.events).toHaveLength(entry.events);

    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, entry.workflowId),
    ).resolves.toBeUndefined();
  },
);

it('fails when a workflow decides differently than its recorded history: a run that asks for its policy under another name', async () => {
  const published = recorded.find((entry) => entry.name === 'published-run');
  if (!published) throw new Error('recorded.json has no published-run history to mutate');
  // The mutation: an interceptor renames RunWorkflow's first activity, as an unguarded edit of workflows/run.ts would.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-mutation-'));
  const interceptor = path.join(dir, 'rename-decide-policy.js');
  fs.writeFileSync(
    interceptor,
    `exports.interceptors = () => ({ outbound: [{ scheduleActivity: (input, next) => next(input.activityType === 'decidePolicy' ? { ...input, activityType: 'decidePolicyV2' } : input) }] });\n`,
  );
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: [interceptor],
    logger: new DefaultLogger('WARN'),
  });

  await expect(
    Worker.runReplayHistory({ workflowBundle: { code } }, historyOf(published), published.workflowId),
  ).rejects.toThrow(DeterminismViolationError);
});
