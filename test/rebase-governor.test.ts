/**
 * Rebases per forge host per hour are bounded across campaigns, as publishing is: two campaigns' trackers on the same
 * forge host ask the host's rebase governor (a workflow on the Temporal dev server), so together they rebase no more
 * than the bound, and the one that waits says why, naming the campaigns that used the host's rebases.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createControlActivities } from '../activities/control';
import { artifactStoreFor } from '../src/artifacts';
import type { Burndown } from '../src/contracts';
import { loadConfig } from '../src/config';
import { LocalForge } from '../src/forges/local';
import { changeTrackerWorkflowId, rebaseGovernorWorkflowId } from '../src/temporal/ids';
import { controlDeps } from '../src/workers/control-deps';
import { eventually } from './support/eventually';
import { pushCommit, remoteTip } from './support/git-remote';
import { startHarness, type RegattaHarness } from './support/harness';
import { capitaliseAlphaExecution, NOTES } from './support/notes-execution';
import { fixtureRepo } from './support/stack';

const config = loadConfig();
const forge = new LocalForge(fs.mkdtempSync(path.join(os.tmpdir(), 'rebase-governor-forge-')));
const execution = capitaliseAlphaExecution(artifactStoreFor(config));
let harness: RegattaHarness;
const campaigns: string[] = [];

beforeAll(async () => {
  const deps = controlDeps(config);
  harness = await startHarness({
    controlActivities: createControlActivities({
      ...deps,
      publish: { ...deps.publish!, forge },
      client: () => harness?.client.temporal,
    }),
    executionActivities: { executeRun: execution.executeRun },
  });
});
afterAll(async () => {
  for (const id of campaigns)
    await harness?.client.temporal.workflow
      .getHandle(changeTrackerWorkflowId(id))
      .terminate('test over')
      .catch(() => undefined);
  await harness?.shutdown();
});

async function startCampaign(label: string) {
  const target = await fixtureRepo(`fixtures/rebase-governor-${label}-${harness.unique}`, { 'NOTES.md': NOTES });
  const id = `rebase-governor-${label}-${harness.unique}`;
  campaigns.push(id);
  await harness.client.startCampaign({
    id,
    title: 'Capitalise alpha',
    targets: [target],
    steps: [{ recipe: 'replace', files: ['NOTES.md'], find: 'alpha', replace: 'ALPHA' }],
    verify: { commands: ['npm test'] },
    tracking: { pollMs: 400, forMs: 300_000 },
    rebaseWhen: 'behind-base',
    rebaseRate: { max: 2, windowMs: 3600_000 },
  });
  return { id, url: target.url, branch: `regatta/${id}` };
}

const burndown = (id: string, until: (b: Burndown) => boolean) =>
  eventually(() => harness.client.campaignBurndown(id), until, 90_000);

/** Waits for the tracker to poll `n` more times, so "nothing happened" is said after it had the chance. */
async function polls(id: string, n: number): Promise<Burndown> {
  let seen = (await burndown(id, (b) => b.checkedAt !== undefined)).checkedAt;
  let last!: Burndown;
  for (let i = 0; i < n; i++) {
    last = await burndown(id, (b) => b.checkedAt !== seen);
    seen = last.checkedAt;
  }
  return last;
}

const moveBase = (url: string, file: string) =>
  pushCommit(url, { onto: 'main', files: { [file]: `${file}\n` }, message: `a colleague adds ${file}` });

it('two campaigns on one forge host share its rebase bound: together they rebase twice, and the third waits naming both', async () => {
  const a = await startCampaign('a');
  const b = await startCampaign('b');
  const opened = (x: Burndown) => x.checkedAt !== undefined && x.open === 1;
  await burndown(a.id, opened);
  await burndown(b.id, opened);

  // Each campaign alone is within its bound of 2: one rebase each.
  await moveBase(a.url, 'ONE.md');
  await burndown(a.id, (x) => x.rebased === 1);
  await moveBase(b.url, 'ONE.md');
  await burndown(b.id, (x) => x.rebased === 1);
  const headA = await remoteTip(a.url, a.branch);

  // The host has had 2 rebases this hour, so campaign a's third on the host waits, though it has used only one.
  await moveBase(a.url, 'TWO.md');
  const held = await burndown(a.id, (x) => /waiting for the rebase limit/.test(x.changes[0].note ?? ''));
  const host = new URL(a.url).host;
  expect(held.changes[0].note).toBe(
    `behind its base; waiting for the rebase limit of 2 per 60 min on ${host}: 2 there in the window, across campaigns (${a.id} 1, ${b.id} 1)`,
  );
  expect((await polls(a.id, 3)).rebased).toBe(1);
  expect(await remoteTip(a.url, a.branch)).toBe(headA);

  // The bound is the host's, held by its governor across every campaign's tracker.
  const governor = await harness.client.temporal.workflow
    .getHandle(rebaseGovernorWorkflowId(host, harness.queues.control))
    .describe();
  expect(governor.status.name).toBe('RUNNING');
  expect(execution.executions.filter((e) => e.repo.includes('rebase-governor'))).toHaveLength(2);
});
