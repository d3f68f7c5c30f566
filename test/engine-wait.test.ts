/**
 * RunWorkflow waits out an unreachable Docker engine: an attempt that fails with DockerEngineUnavailable is retried
 * with backoff for the campaign's dockerEngineWaitMs while the run stays `executing` and its current details say what
 * it waits for; past the window it fails as `infra`, saying since when and why.
 */
import type { Client } from '@temporalio/client';
import { createControlActivities } from '../activities/control';
import { connectTemporalClient } from '../src/client/connection';
import { loadConfig } from '../src/config';
import type { CampaignSpecInput, ExecutionSpec } from '../src/contracts';
import { engineUnavailableFailure } from '../src/sandbox/engine';
import { eventually } from './support/eventually';
import { startHarness, type RegattaHarness } from './support/harness';
import { scriptedExecution } from './support/scripted-execution';

let harness: RegattaHarness;
let temporal: Client;
/** How many more attempts of each repository find no engine. */
const outages = new Map<string, number>();
const attempts: string[] = [];
const scripted = scriptedExecution(() => ({ outcome: 'changed' }));
const executeRun = async (spec: ExecutionSpec) => {
  attempts.push(spec.repo.name);
  const left = outages.get(spec.repo.name) ?? 0;
  if (left > 0) {
    outages.set(spec.repo.name, left - 1);
    throw engineUnavailableFailure(
      'the Docker engine at /var/run/docker.sock is unreachable (connect ECONNREFUSED /var/run/docker.sock)',
    );
  }
  return scripted.activities.executeRun(spec);
};

beforeAll(async () => {
  harness = await startHarness({ controlActivities: createControlActivities({}), executionActivities: { executeRun } });
  temporal = await connectTemporalClient(loadConfig().temporal);
});
afterAll(async () => {
  await temporal?.connection.close();
  await harness?.shutdown();
});

function campaign(name: string, repo: string, extra: Partial<CampaignSpecInput> = {}): CampaignSpecInput {
  return {
    id: `${name}-${harness.unique}`,
    title: `engine wait: ${name}`,
    targets: [{ repo, url: `http://127.0.0.1:9/${repo}.git`, ref: 'main' }],
    steps: [{ recipe: 'command', run: 'sed -i s/old/new/ README.md' }],
    preview: true,
    ...extra,
  };
}

/** What the Web UI shows as the run's current details ('' until the campaign has started the run). */
async function currentDetails(runId: string): Promise<string> {
  const metadata = await temporal.workflow
    .getHandle(runId)
    .query<{ currentDetails?: string }>('__temporal_workflow_metadata')
    .catch(() => ({ currentDetails: '' }));
  return metadata.currentDetails ?? '';
}

describe('a run whose Docker engine is unreachable', () => {
  it('waits while executing, says so in its current details, and completes when an attempt finds the engine', async () => {
    const spec = campaign('recovers', 'acme/engine-recovers');
    outages.set('acme/engine-recovers', 2);
    await harness.client.startCampaign(spec);
    const runId = `run/${spec.id}/acme/engine-recovers`;

    const waiting = await eventually(
      () => currentDetails(runId),
      (details) => details.includes('waiting for the Docker engine'),
      30_000,
    );
    expect(waiting).toMatch(
      /^\*\*executing\*\* — waiting for the Docker engine since \d{4}-\d\d-\d\dT[\d:.]+Z \(the Docker engine at \/var\/run\/docker\.sock is unreachable/,
    );
    expect((await harness.client.runStatus(runId)).state).toBe('executing');

    const result = await harness.client.campaignResult(spec.id);
    expect(result.runs.map((r) => r.state)).toEqual(['changed']);
    expect(attempts.filter((repo) => repo === 'acme/engine-recovers')).toHaveLength(3);
    const run = await harness.client.runStatus(runId);
    expect(run.events.map((e) => e.note)).toContainEqual(
      expect.stringMatching(/^resumed after waiting \d+ s for the Docker engine \(2 retries\)$/),
    );
  }, 120_000);

  it('fails as infra once the engine has been unreachable for longer than dockerEngineWaitMs', async () => {
    const spec = campaign('gives-up', 'acme/engine-gives-up', { dockerEngineWaitMs: 3_000 });
    outages.set('acme/engine-gives-up', 1_000);

    const result = await (async () => {
      await harness.client.startCampaign(spec);
      return harness.client.campaignResult(spec.id);
    })();

    expect(result.runs.map((r) => r.state)).toEqual(['failed']);
    const run = await harness.client.runStatus(result.runs[0].runId);
    expect(run.failure?.kind).toBe('infra');
    expect(run.failure?.message).toMatch(
      /^the Docker engine was unavailable from \d{4}-.*Z for \d+ s, past the run's dockerEngineWaitMs of 3000 ms: the Docker engine at \/var\/run\/docker\.sock is unreachable/,
    );
    // Retried, not failed at the first fault: at least the first attempt and the one after the backoff.
    expect(attempts.filter((repo) => repo === 'acme/engine-gives-up').length).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('rejects a negative dockerEngineWaitMs, naming the field', async () => {
    await expect(
      harness.client.startCampaign(campaign('bad-window', 'acme/engine-bad', { dockerEngineWaitMs: -1 })),
    ).rejects.toThrow(/dockerEngineWaitMs/);
  });
});
