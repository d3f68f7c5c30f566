/**
 * A re-execution on a moved base whose policy asks for approval is decided like any run of the campaign: through
 * `approveRun` / `rejectRun` (the campaign's own path, routed to its change tracker for re-executions), with who and
 * why recorded on the run and on the change. Real components: the Temporal dev server, the stack's git server, the
 * local forge and the default policy bundle (production-critical repositories need a human before a pull request).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createControlActivities } from '../activities/control';
import { artifactStoreFor } from '../src/artifacts';
import type { Burndown } from '../src/contracts';
import { loadConfig } from '../src/config';
import { LocalForge } from '../src/forges/local';
import { changeTrackerWorkflowId, reexecutionWorkflowId, runWorkflowId } from '../src/temporal/ids';
import { controlDeps } from '../src/workers/control-deps';
import { eventually } from './support/eventually';
import { pushCommit, remoteFile, remoteTip } from './support/git-remote';
import { startHarness, type RegattaHarness } from './support/harness';
import { capitaliseAlphaExecution, NOTES } from './support/notes-execution';
import { fixtureRepo } from './support/stack';

const config = loadConfig();
const forge = new LocalForge(fs.mkdtempSync(path.join(os.tmpdir(), 'reexecution-approval-forge-')));
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

const burndown = (id: string, until: (b: Burndown) => boolean) =>
  eventually(() => harness.client.campaignBurndown(id), until, 120_000);

/**
 * A production-critical repository's campaign, its first run approved by alice and published; then a colleague edits
 * the line the change edits, so the tracker executes the run again, and that run waits for approval too.
 */
async function reexecutionAwaitingApproval(label: string) {
  const target = await fixtureRepo(`fixtures/reexec-approval-${label}-${harness.unique}`, { 'NOTES.md': NOTES });
  const id = `reexec-approval-${label}-${harness.unique}`;
  campaigns.push(id);
  await harness.client.startCampaign({
    id,
    title: 'Capitalise alpha',
    targets: [{ ...target, tier: 'production-critical' }],
    steps: [{ recipe: 'replace', files: ['NOTES.md'], find: 'alpha', replace: 'ALPHA' }],
    verify: { commands: ['npm test'] },
    tracking: { pollMs: 400, forMs: 300_000 },
  });
  const first = runWorkflowId(id, target.repo);
  await eventually(
    () => harness.client.runStatus(first).catch(() => undefined),
    (r) => r?.state === 'needs_approval',
    120_000,
  );
  await harness.client.approveRun(id, first, 'alice', 'first pass');
  await burndown(id, (b) => b.checkedAt !== undefined && b.open === 1);
  const branch = `regatta/${id}`;
  const head = await remoteTip(target.url, branch);
  await pushCommit(target.url, {
    onto: 'main',
    files: { 'NOTES.md': (t) => t.replace('alpha', 'alpha, moved') },
    message: 'a colleague edits the line the change edits',
  });
  const again = reexecutionWorkflowId(id, target.repo, 1);
  await burndown(id, (b) => /awaits approval/.test(b.changes[0].note ?? ''));
  expect((await harness.client.runStatus(again)).state).toBe('needs_approval');
  return { id, url: target.url, branch, head, again };
}

it('approving a re-execution through approveRun publishes it, with who and why on the run and the change', async () => {
  const { id, url, branch, head, again } = await reexecutionAwaitingApproval('approve');

  const report = await harness.client.approveRun(id, again, 'bob', 'checked the moved line');
  expect(report.runId).toBe(again);
  expect(report.state).not.toBe('needs_approval');

  const after = await burndown(id, (b) => /published/.test(b.changes[0].note ?? ''));
  expect(after.changes[0].note).toBe(
    `executed again on the moved base, verified and published (${again}), approved by bob: checked the moved line`,
  );
  expect(after).toMatchObject({ reexecuted: 1, open: 1 });
  const run = await harness.client.runStatus(again);
  expect(run.state).toBe('published');
  expect(run.events.map((e) => e.note).join('\n')).toMatch(/approved by bob/);
  expect(await remoteTip(url, branch)).not.toBe(head);
  expect(await remoteFile(url, branch, 'NOTES.md')).toMatch(/^ALPHA, MOVED$/m);

  // Decided once: a second decision is refused, naming the run.
  await expect(harness.client.approveRun(id, again, 'carol')).rejects.toThrow(
    new RegExp(`run ${again.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a re-execution in flight|not awaiting`),
  );
});

it('rejecting a re-execution pushes nothing and records who rejected it and why', async () => {
  const { id, url, branch, head, again } = await reexecutionAwaitingApproval('reject');

  const report = await harness.client.rejectRun(id, again, 'dora', 'the moved line needs a person');
  expect(report).toMatchObject({ runId: again, state: 'rejected' });

  const after = await burndown(id, (b) => /rejected/.test(b.changes[0].note ?? ''));
  expect(after.changes[0].note).toBe(
    `the re-execution ${again} on the moved base was rejected by dora: the moved line needs a person; nothing was pushed`,
  );
  expect((await harness.client.runStatus(again)).state).toBe('rejected');
  expect(await remoteTip(url, branch)).toBe(head);
});
