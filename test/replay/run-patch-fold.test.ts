/**
 * The fold of RunWorkflow's patches (workflows/run-patches.ts): a run a campaign starts today names the fold in its
 * request and takes every folded patch without a marker, so its history carries no marker and no
 * `TemporalChangeVersion` upsert per patch; it still takes each patched branch, and replays on today's code.
 * Runs recorded before the fold replay each patch by its marker: test/replay/recorded-histories.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { createControlActivities } from '../../activities/control';
import type { CampaignSpecInput, RunRequest } from '../../src/contracts';
import { loadConfig } from '../../src/config';
import { RUN_PATCH_FOLD } from '../../src/temporal/run-patch-fold';
import { controlDeps } from '../../src/workers/control-deps';
import { startHarness, type RegattaHarness } from '../support/harness';
import { scriptedExecution } from '../support/scripted-execution';
import { fixtureRepo } from '../support/stack';
import { workflowBundle } from '../support/workflow-bundle';

let harness: RegattaHarness;
const BASELINE = { commit: 'a'.repeat(40), testsRun: 4, failed: 1, cached: false, durationMs: 1200 };

beforeAll(async () => {
  const scripted = scriptedExecution(() => ({
    verification: { verdict: 'passed', commands: [], baseline: BASELINE, preExisting: ['formats dates'] },
  }));
  harness = await startHarness({
    controlActivities: createControlActivities(controlDeps(loadConfig())),
    executionActivities: scripted.activities,
  });
});
afterAll(async () => harness?.shutdown());

it('a run started by a campaign today takes the fold: no marker or change-version upsert per patch, the same branches, and it replays', async () => {
  const target = await fixtureRepo(`fixtures/fold-${harness.unique}`);
  const spec: CampaignSpecInput = {
    id: `fold-${harness.unique}`,
    title: 'Touch the README',
    targets: [target],
    steps: [{ recipe: 'replace', files: ['README.md'], find: 'fixture', replace: 'fixture' }],
    verify: { commands: ['npm test'] },
    preview: true,
  };
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id);
  expect(result.runs).toHaveLength(1);
  const { runId } = result.runs[0];
  expect(result.runs[0]).toMatchObject({ state: 'changed' });

  const handle = harness.client.temporal.workflow.getHandle(runId);
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const started = events[0].workflowExecutionStartedEventAttributes!;
  const request = defaultPayloadConverter.fromPayload<RunRequest>(started.input!.payloads![0]);
  expect(request.foldedPatches).toBe(RUN_PATCH_FOLD);

  // The only marker is the policy decision's local activity; no patch marker, no TemporalChangeVersion upsert.
  const markers = events.filter((e) => e.markerRecordedEventAttributes).map((e) => e.markerRecordedEventAttributes!);
  expect(markers.map((m) => m.markerName)).toEqual(['core_local_activity']);
  const upserted = events.flatMap((e) =>
    Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}),
  );
  expect(upserted).not.toContain('TemporalChangeVersion');
  expect(upserted).toContain('RunState');

  // The folded branches were taken: the first execution went unreported (one report, the settled one), and the
  // baseline is in the memo.
  const reports = events.filter(
    (e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'runReport',
  );
  expect(reports).toHaveLength(1);
  const memo = (await handle.describe()).memo as Record<string, unknown>;
  expect(memo.verificationBaseline).toMatchObject({ commit: BASELINE.commit, preExisting: ['formats dates'] });

  await expect(
    Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, runId),
  ).resolves.toBeUndefined();
});

it('no patch check in RunWorkflow records a marker of its own: each goes through the run’s RunPatches', () => {
  const dir = path.join(__dirname, '..', '..', 'workflows');
  const runFiles = fs.readdirSync(dir).filter((f) => /^run(-[a-z-]+)?\.ts$/.test(f) && f !== 'run-patches.ts');
  expect(runFiles).toEqual(expect.arrayContaining(['run.ts', 'run-execute.ts', 'run-journal.ts']));
  const unfolded = runFiles.filter((f) => /\bpatched\(/.test(fs.readFileSync(path.join(dir, f), 'utf8')));
  expect(unfolded).toEqual([]);
});
