/** Cancelling a campaign stops its running sandboxes: real Temporal, real Docker, the local git fleet. */
import { createControlActivities } from '../activities/control';
import { dockerClient, MANAGED_LABEL, RUN_LABEL } from '../src/sandbox/driver';
import { realExecutionActivities, startHarness, type RegattaHarness } from './support/harness';
import { readStackInfo } from './support/stack';
import { eventually } from './support/eventually';

let harness: RegattaHarness;
const docker = dockerClient();

beforeAll(async () => {
  harness = await startHarness({
    controlActivities: createControlActivities({}),
    executionActivities: realExecutionActivities(),
  });
});
afterAll(async () => harness?.shutdown());

it('cancelling a campaign cancels its running runs and removes their sandboxes', async () => {
  const targets = readStackInfo().targets.filter((t) => t.repo !== 'acme/billing');
  const spec = {
    id: `cancel-sandboxes-${harness.unique}`,
    title: 'a step that would run for minutes',
    targets,
    steps: [{ recipe: 'command' as const, run: 'node -e "setTimeout(() => {}, 300000)"' }],
    preview: true,
    maxConcurrentRuns: 2,
  };
  await harness.client.startCampaign(spec);
  const runningContainers = () => docker.listContainers({ filters: { label: [`${MANAGED_LABEL}=true`], status: ['running'] } });
  const ours = async () => (await runningContainers()).filter((c) => c.Labels[RUN_LABEL]?.startsWith(`run/${spec.id}/`));
  await eventually(ours, (containers) => containers.length === 2, 120_000);

  const progress = await harness.client.cancelCampaign(spec.id, 'operator', 'stop the sleepers');
  expect(progress.counts).toEqual({ cancelled: 2, skipped: targets.length - 2 });

  const after = await eventually(ours, (containers) => containers.length === 0, 30_000);
  expect(after).toEqual([]);
  const runs = await eventually(() => harness.client.listRuns(spec.id), (listed) => listed.every((r) => r.status !== 'RUNNING'));
  expect(runs.map((r) => [r.state, r.status])).toEqual([
    ['cancelled', 'CANCELLED'],
    ['cancelled', 'CANCELLED'],
  ]);
});
