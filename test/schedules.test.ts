/**
 * Recurring desired-state campaigns on Temporal Schedules: each firing surveys the fleet and starts runs only for
 * repositories that are not there yet and have no open change request. Real Temporal, Docker, git and forge.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { createControlActivities } from '../activities/control';
import type { ScheduledFiringResult, Target } from '../src/contracts';
import { loadConfig } from '../src/config';
import { FLEET, serviceFiles } from '../src/dev/fleet';
import { LocalForge } from '../src/forges/local';
import { controlDeps } from '../src/workers/control-deps';
import { eventually } from './support/eventually';
import { realExecutionActivities, startHarness, type RegattaHarness } from './support/harness';
import { fixtureRepo } from './support/stack';

const config = loadConfig();
const forge = new LocalForge(path.join(config.home, 'forge', 'local'));
let harness: RegattaHarness;

beforeAll(async () => {
  harness = await startHarness({
    controlActivities: createControlActivities(controlDeps(config)),
    executionActivities: realExecutionActivities(),
  });
});
afterAll(async () => harness?.shutdown());

async function service(label: string, loggerRange: string): Promise<Target> {
  const packageJson = serviceFiles(FLEET.find((s) => s.repo === 'acme/catalog')!)['package.json'].replace(
    '"@acme/logger": "^1.0.0"',
    `"@acme/logger": "${loggerRange}"`,
  );
  return fixtureRepo(`fixtures/${label}-${harness.unique}`, { 'package.json': packageJson }, { owner: 'storefront' });
}

async function setLoggerRange(target: Target, range: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drift-'));
  await git.clone({ fs, http, dir, url: target.url, ref: 'main', singleBranch: true, depth: 1 });
  const file = path.join(dir, 'package.json');
  fs.writeFileSync(
    file,
    fs.readFileSync(file, 'utf8').replace(/"@acme\/logger": "[^"]+"/, `"@acme/logger": "${range}"`),
  );
  await git.add({ fs, dir, filepath: 'package.json' });
  await git.commit({
    fs,
    dir,
    message: `logger ${range}`,
    author: { name: 'Maintainer', email: 'maintainer@acme.invalid' },
  });
  await git.push({ fs, http, dir, url: target.url, ref: 'main' });
}

function asRepo(target: Target): { name: string; url: string } {
  return { name: target.repo, url: target.url };
}

async function fire(scheduleId: string, firingsBefore: number): Promise<ScheduledFiringResult> {
  await harness.client.schedules.trigger(scheduleId);
  const described = await eventually(
    () => harness.client.schedules.describe(scheduleId),
    (d) => d.recentFirings.length > firingsBefore,
    30_000,
  );
  return harness.client.schedules.firingResult(described.recentFirings.at(-1)!.workflowId);
}

it('a second firing starts runs only for the repositories that drifted', async () => {
  const [merged, open, drifting] = [
    await service('merged', '^1.0.0'),
    await service('open', '^1.2.0'),
    await service('drifting', '^2.1.0'),
  ];
  const scheduleId = `logger-2x-${harness.unique}`;
  await harness.client.schedules.create({
    id: scheduleId,
    every: '7d',
    paused: true,
    desired: { package: '@acme/logger', atLeast: '2.0' },
    campaign: {
      id: 'logger-2x',
      title: 'Every service on @acme/logger 2.x',
      // The bump is a text edit that needs no registry, so the run keeps the default `none` network.
      taskType: 'codemod',
      targets: [merged, open, drifting],
      steps: [
        { recipe: 'replace', files: ['package.json'], find: '"@acme/logger": "^1', replace: '"@acme/logger": "^2' },
      ],
      verify: { commands: ['npm test'] },
    },
  });

  const first = await fire(scheduleId, 0);
  expect(first).toMatchObject({ compliant: [drifting.repo], withOpenChange: [], started: [merged.repo, open.repo] });
  expect(first.result?.counts).toEqual({ published: 2 });
  const branch = `regatta/${scheduleId}`;
  expect((await forge.findChangeRequest(asRepo(open), branch))?.state).toBe('open');

  // Between firings: one change request is merged, another stays open, and a compliant service slips back.
  const mergedRequest = (await forge.findChangeRequest(asRepo(merged), branch))!;
  await setLoggerRange(merged, '^2.0.0');
  await forge.markMerged(asRepo(merged), mergedRequest.number);
  await setLoggerRange(drifting, '^1.9.0');

  const second = await fire(scheduleId, 1);
  expect(second.campaignId).not.toBe(first.campaignId);
  expect(second).toMatchObject({ compliant: [merged.repo], withOpenChange: [open.repo], started: [drifting.repo] });
  expect(second.result?.runs.map((r) => [r.repo, r.state])).toEqual([[drifting.repo, 'published']]);
  expect(await forge.listChangeRequests({ repo: open.repo })).toHaveLength(1);
  await harness.client.schedules.delete(scheduleId);
});

it('surveys a fleet a batch of 100 repositories per activity, and reports the ones it cannot read as unknown', async () => {
  // 250 repositories behind an address that refuses connections: each survey answer is quick, and an error.
  const targets: Target[] = Array.from({ length: 250 }, (_, i) => ({
    repo: `acme/gone-${i}`,
    url: `http://127.0.0.1:9/acme/gone-${i}.git`,
    ref: 'main',
  }));
  const scheduleId = `survey-batches-${harness.unique}`;
  await harness.client.schedules.create({
    id: scheduleId,
    every: '7d',
    paused: true,
    desired: { package: '@acme/logger', atLeast: '2.0' },
    campaign: { id: 'survey-batches', title: 'survey only', targets, steps: [{ recipe: 'command', run: 'true' }] },
  });
  try {
    const firing = await fire(scheduleId, 0);
    expect(firing.unknown).toHaveLength(250);
    expect(firing.started).toEqual([]);

    const workflowId = (await harness.client.schedules.describe(scheduleId)).recentFirings[0].workflowId;
    const history = await harness.client.temporal.workflow.getHandle(workflowId).fetchHistory();
    const surveys = (history.events ?? []).filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'surveyDependency',
    );
    expect(
      surveys.map(
        (e) =>
          harness.client.temporal.options.loadedDataConverter.payloadConverter.fromPayload<{ targets: Target[] }>(
            e.activityTaskScheduledEventAttributes!.input!.payloads![0],
          ).targets.length,
      ),
    ).toEqual([100, 100, 50]);
  } finally {
    await harness.client.schedules.delete(scheduleId);
  }
}, 300_000);
