/** The fleet-wide publish governor: one per forge host, across campaigns. Real Temporal, Docker, git and local forge. */
import fs from 'node:fs';
import path from 'node:path';
import { createControlActivities } from '../activities/control';
import { connectTemporalClient } from '../src/client/connection';
import type { Target } from '../src/contracts';
import { loadConfig } from '../src/config';
import { publishGovernorWorkflowId, runWorkflowId } from '../src/temporal/ids';
import { controlDeps } from '../src/workers/control-deps';
import { governorStateQuery } from '../workflows/definitions';
import { eventually } from './support/eventually';
import { realExecutionActivities, startHarness, type RegattaHarness } from './support/harness';
import { signalsSent } from './support/history';
import { fixtureRepo, readStackInfo } from './support/stack';

const config = loadConfig();
const WINDOW_MS = 8_000;
let harness: RegattaHarness;
let host: string;

beforeAll(async () => {
  const governor = { client: await connectTemporalClient(config.temporal), taskQueue: '', max: 2, windowMs: WINDOW_MS };
  harness = await startHarness({
    controlActivities: createControlActivities({ ...controlDeps(config), governor }),
    executionActivities: realExecutionActivities(),
  });
  // The governor runs on the control queue, which the harness names when it starts.
  governor.taskQueue = harness.queues.control;
});
afterAll(async () => harness?.shutdown());

it('two campaigns publishing to one host together never exceed the governor, which shows who is waiting', async () => {
  host = new URL(readStackInfo().gitBaseUrl).host;
  const targets = async (label: string): Promise<Target[]> => {
    const made: Target[] = [];
    for (let i = 0; i < 3; i++) made.push(await fixtureRepo(`fixtures/gov-${label}-${i}-${harness.unique}`));
    return made;
  };
  const campaign = async (label: string) => ({
    id: `gov-${label}-${harness.unique}`,
    title: 'Rename oldName to newName',
    targets: await targets(label),
    steps: [{ recipe: 'replace' as const, files: ['src/**/*.js', 'test.js'], find: 'oldName', replace: 'newName' }],
    verify: { commands: ['npm test'] },
    maxConcurrentRuns: 3,
  });
  const [a, b] = [await campaign('a'), await campaign('b')];
  await Promise.all([harness.client.startCampaign(a), harness.client.startCampaign(b)]);

  const governor = harness.client.temporal.workflow.getHandle(publishGovernorWorkflowId(host, harness.queues.control));
  const busy = await eventually(
    () => governor.query(governorStateQuery).catch(() => undefined),
    // The governor grants one permit per step: wait for the moment its window is full and others wait.
    (s) => (s?.waiting ?? 0) > 0 && s?.grantedInWindow === 2,
    120_000,
  );
  expect(busy).toMatchObject({ host, max: 2, windowMs: WINDOW_MS, grantedInWindow: 2 });

  const results = await Promise.all([harness.client.campaignResult(a.id), harness.client.campaignResult(b.id)]);
  expect(results.map((r) => r.counts)).toEqual([{ published: 3 }, { published: 3 }]);

  // The governor's own clock: never more than two grants in any window, to the millisecond.
  const granted = await signalsSent(
    harness.client.temporal,
    publishGovernorWorkflowId(host, harness.queues.control),
    'governorPermitGranted',
  );
  const runIds = [a, b].flatMap((spec) => spec.targets.map((t) => runWorkflowId(spec.id, t.repo)));
  expect(Object.keys(granted).sort()).toEqual([...runIds].sort());
  const grants = Object.values(granted).sort((x, y) => x - y);
  for (let i = 2; i < grants.length; i++) expect(grants[i] - grants[i - 2]).toBeGreaterThanOrEqual(WINDOW_MS);

  // And no change request reached the forge before its run's permit: the pace at the forge is the governor's.
  for (const spec of [a, b])
    for (const t of spec.targets) {
      const file = path.join(config.home, 'forge/local', t.repo, `${encodeURIComponent(`regatta/${spec.id}`)}.json`);
      const createdAt = Date.parse(JSON.parse(fs.readFileSync(file, 'utf8')).createdAt);
      expect(createdAt).toBeGreaterThanOrEqual(granted[runWorkflowId(spec.id, t.repo)]);
    }
}, 600_000);
