/**
 * A run whose execution queue has no worker does not wait forever: after executionStartTimeoutMs it fails as
 * `infra`, naming the queue, and the campaign goes on to its end.
 */
import { createControlActivities } from '../activities/control';
import { startHarness, type RegattaHarness } from './support/harness';

let harness: RegattaHarness;

beforeAll(async () => {
  // A control plane only: nothing serves the execution queue.
  harness = await startHarness({ controlActivities: createControlActivities({}) });
});
afterAll(async () => harness?.shutdown());

it('fails a run no execution worker takes from its queue as infra, naming the queue', async () => {
  const spec = {
    id: `no-worker-${harness.unique}`,
    title: 'nobody executes this',
    targets: [{ repo: 'acme/orphan', url: 'http://127.0.0.1:9/acme/orphan.git', ref: 'trunk' }],
    steps: [{ recipe: 'command' as const, run: 'true' }],
    preview: true,
    executionStartTimeoutMs: 3_000,
  };
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id);

  expect(result.runs[0]).toMatchObject({
    state: 'failed',
    failure: {
      kind: 'infra',
      message: expect.stringContaining(
        `no execution worker took the run from task queue ${harness.queues.execution} within 3000 ms`,
      ),
    },
  });
}, 120_000);
