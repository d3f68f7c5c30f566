/**
 * The baseline end to end: real Temporal, real sandboxes, real git repositories on the stack's git server, the local
 * forge. The verify commands run on the untouched base too; a failure the base already had is reported as
 * pre-existing and does not stop the change, a change that runs fewer tests or breaks another one fails verification,
 * and a second run on the same base commit reads the baseline from the cache instead of running the suite again.
 */
import { createControlActivities } from '../activities/control';
import { loadConfig } from '../src/config';
import type { CampaignSpecInput, Target } from '../src/contracts';
import { controlDeps } from '../src/workers/control-deps';
import { realExecutionActivities, startHarness, type RegattaHarness } from './support/harness';
import { dateLibrary, localChangeRequestBody, runEvidence } from './support/node-suite';
import { fixtureRepo } from './support/stack';

let harness: RegattaHarness;

beforeAll(async () => {
  harness = await startHarness({
    controlActivities: createControlActivities(controlDeps(loadConfig())),
    executionActivities: realExecutionActivities(),
  });
});
afterAll(async () => {
  await harness?.shutdown();
});

function campaign(id: string, target: Target, run: string): CampaignSpecInput {
  return {
    id,
    title: 'Fix the greeting typo',
    taskType: 'refactor',
    targets: [target],
    steps: [{ recipe: 'command', name: 'the change', run }],
    verify: { commands: ['npm test'] },
  };
}

async function onlyRun(campaignId: string) {
  const result = await harness.client.campaignResult(campaignId);
  expect(result.runs).toHaveLength(1);
  return result.runs[0];
}

it('publishes a change beside a failure the base already had, and says it is pre-existing; reads the baseline from the cache on the next run', async () => {
  const target = await fixtureRepo(
    `fixtures/baseline-preexisting-${harness.unique}`,
    dateLibrary('dates', { dateBug: true, lockfile: true }),
    { ref: 'master' },
  );
  const first = campaign(`baseline-pre-${harness.unique}`, target, "sed -i 's/Helo/Hello/' src/greet.js");
  await harness.client.startCampaign(first);
  const run = await onlyRun(first.id);
  expect(run).toMatchObject({ state: 'published' });

  const { verification, events, memo } = await runEvidence(harness.client, run.runId);
  const commit = verification.baseline!.commit;
  expect(verification).toMatchObject({
    verdict: 'passed',
    baseline: { testsRun: 3, failed: 1, cached: false },
    preExisting: ['formats dates'],
  });
  expect(events.filter((e) => e.name === 'baseline: npm test')).toHaveLength(1);
  expect(memo.verificationBaseline).toMatchObject({ commit, cached: false, preExisting: ['formats dates'] });
  const body = localChangeRequestBody(target.repo, first.id);
  expect(body).toContain(
    `1 failure pre-existing on ${commit.slice(0, 12)}: formats dates (not caused by this change).`,
  );
  expect(body).toContain(`Baseline on \`${commit.slice(0, 12)}\`: 3 tests executed, 1 failed.`);

  // Another campaign on the same base commit, verify plan and toolchain: the suite does not run on the base again.
  const second = campaign(`baseline-again-${harness.unique}`, target, "sed -i 's/Helo/Hi/' src/greet.js");
  await harness.client.startCampaign(second);
  const again = await onlyRun(second.id);
  expect(again).toMatchObject({ state: 'published' });
  const cached = await runEvidence(harness.client, again.runId);
  expect(cached.verification).toMatchObject({
    verdict: 'passed',
    baseline: { commit, testsRun: 3, failed: 1, cached: true },
    preExisting: ['formats dates'],
  });
  expect(cached.events.filter((e) => e.name === 'baseline: npm test')).toEqual([]);
  expect(cached.events.find((e) => e.name === 'baseline')?.detail).toBe(
    `${commit.slice(0, 12)}: 3 tests executed, 1 failed (read from the cache)`,
  );
}, 600_000);

it('fails verification for a change that runs fewer tests, naming both counts, and for a new failure beside a pre-existing one', async () => {
  const [trunk, master] = await Promise.all([
    fixtureRepo(`fixtures/baseline-fewer-${harness.unique}`, dateLibrary('dates-fewer', { dateBug: false }), {
      ref: 'trunk',
    }),
    fixtureRepo(`fixtures/baseline-new-${harness.unique}`, dateLibrary('dates-new', { dateBug: true }), {
      ref: 'master',
    }),
  ]);
  const fewer = campaign(`baseline-fewer-${harness.unique}`, trunk, 'rm test/sum.test.js');
  const broken = campaign(`baseline-new-${harness.unique}`, master, "sed -i 's/a + b/a - b/' src/sum.js");
  await Promise.all([harness.client.startCampaign(fewer), harness.client.startCampaign(broken)]);
  const [fewerRun, brokenRun] = await Promise.all([onlyRun(fewer.id), onlyRun(broken.id)]);

  expect(fewerRun).toMatchObject({
    state: 'failed',
    failure: {
      kind: 'verification',
      message: expect.stringContaining('the change lowers tests executed from 3 to 2'),
    },
  });
  const fewerEvidence = await runEvidence(harness.client, fewerRun.runId);
  expect(fewerEvidence.verification).toMatchObject({
    verdict: 'failed',
    baseline: { testsRun: 3, failed: 0 },
    baselineFindings: ['the change lowers tests executed from 3 to 2'],
  });

  expect(brokenRun).toMatchObject({
    state: 'failed',
    failure: { kind: 'verification', message: expect.stringContaining('2 of 3 tests failed') },
  });
  const brokenEvidence = await runEvidence(harness.client, brokenRun.runId);
  expect(brokenEvidence.verification).toMatchObject({ verdict: 'failed', baseline: { testsRun: 3, failed: 1 } });
  expect(brokenEvidence.verification.commands[0].tests?.failedTests?.sort()).toEqual(['adds numbers', 'formats dates']);
}, 600_000);
