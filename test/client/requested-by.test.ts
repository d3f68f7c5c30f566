/** Every run answers "who asked": the SDK records its caller, an explicit requester, or the spec's own. */
import os from 'node:os';
import { createControlActivities } from '../../activities/control';
import { RegattaClient } from '../../src/client';
import { loadConfig } from '../../src/config';
import { campaignWorkflowId, runWorkflowId } from '../../src/temporal/ids';
import { startHarness, type RegattaHarness } from '../support/harness';
import { scriptedExecution } from '../support/scripted-execution';
import { readStackInfo } from '../support/stack';

let harness: RegattaHarness;

beforeAll(async () => {
  harness = await startHarness({
    controlActivities: createControlActivities({}),
    executionActivities: scriptedExecution(() => ({})).activities,
  });
});
afterAll(async () => harness?.shutdown());

function spec(id: string, extra: object = {}) {
  const target = readStackInfo().targets.find((t) => t.repo === 'acme/catalog')!;
  return {
    id: `${id}-${harness.unique}`,
    title: 'Who asked',
    targets: [target],
    steps: [{ recipe: 'command', run: 'true' }],
    preview: true,
    ...extra,
  };
}

/** The requester as the run records it (its first transition) and as the campaign's details in the Web UI show it. */
async function requesterOf(
  client: RegattaClient,
  campaign: { id: string },
): Promise<{ note?: string; details?: string }> {
  await client.campaignResult(campaign.id);
  const run = await client.runStatus(runWorkflowId(campaign.id, 'acme/catalog'));
  const described = await client.temporal.workflow.getHandle(campaignWorkflowId(campaign.id)).describe();
  return { note: run.events[0]?.note, details: await described.staticDetails() };
}

describe('requestedBy through the SDK', () => {
  it('a spec without requestedBy is recorded as requested by the OS user, never "unknown"', async () => {
    const campaign = spec('sdk-os-user');
    await harness.client.startCampaign(campaign);
    const { note, details } = await requesterOf(harness.client, campaign);
    expect(note).toBe(`requested by ${os.userInfo().username}`);
    expect(details).toContain(`requested by ${os.userInfo().username}`);
  });

  it("a client's requestedBy option names the requester, over the spec's own", async () => {
    const config = loadConfig();
    const client = new RegattaClient(harness.client.temporal, {
      queues: harness.queues,
      uiUrl: config.temporal.uiUrl,
      namespace: config.temporal.namespace,
      requestedBy: 'release-bot',
    });
    const campaign = spec('sdk-option', { requestedBy: 'bob' });
    await client.startCampaign(campaign);
    expect((await requesterOf(client, campaign)).note).toBe('requested by release-bot');
  });

  it("without an option, the spec's requestedBy is kept", async () => {
    const campaign = spec('sdk-spec', { requestedBy: 'bob' });
    await harness.client.startCampaign(campaign);
    expect((await requesterOf(harness.client, campaign)).note).toBe('requested by bob');
  });
});
