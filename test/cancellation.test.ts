/** Cancelling a campaign stops its running sandboxes: real Temporal, real Docker, fixture repositories on the local git server. */
import { createControlActivities } from '../activities/control';
import { dockerClient, MANAGED_LABEL, RUN_LABEL } from '../src/sandbox/driver';
import { realExecutionActivities, startHarness, type RegattaHarness } from './support/harness';
import { eventually } from './support/eventually';
import { fixtureRepo } from './support/stack';
import { WAIT_SCRIPT, waitCommand } from './support/step-scripts';

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
  const targets = await Promise.all(
    [0, 1, 2].map((i) => fixtureRepo(`fixtures/cancel-${i}-${harness.unique}`, WAIT_SCRIPT)),
  );
  const spec = {
    id: `cancel-sandboxes-${harness.unique}`,
    title: 'a step that would run for minutes',
    targets,
    steps: [{ recipe: 'command' as const, run: waitCommand(300_000) }],
    preview: true,
    maxConcurrentRuns: 2,
  };
  await harness.client.startCampaign(spec);
  const runningContainers = () =>
    docker.listContainers({ filters: { label: [`${MANAGED_LABEL}=true`], status: ['running'] } });
  const ours = async () =>
    (await runningContainers()).filter((c) => c.Labels[RUN_LABEL]?.startsWith(`run/${spec.id}/`));
  await eventually(ours, (containers) => containers.length === 2, 120_000);

  const progress = await harness.client.cancelCampaign(spec.id, 'operator', 'stop the sleepers');
  expect(progress.counts).toEqual({ cancelled: 2, skipped: targets.length - 2 });

  const after = await eventually(ours, (containers) => containers.length === 0, 30_000);
  expect(after).toEqual([]);
  const runs = await eventually(
    () => harness.client.listRuns(spec.id),
    (listed) => listed.every((r) => r.status !== 'RUNNING'),
  );
  expect(runs.map((r) => [r.state, r.status])).toEqual([
    ['cancelled', 'CANCELLED'],
    ['cancelled', 'CANCELLED'],
  ]);
});
