/**
 * From verified evidence to change request, on real components: Temporal, Docker sandboxes, the git server and
 * the local forge. Each test gets fresh fixture repositories served by the stack's git server.
 */
import fs from 'node:fs';
import { version as defaultPolicyVersion } from '../policies/default.json';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/activity';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { createControlActivities } from '../activities/control';
import type { CampaignSpecInput, PublishRequest, Target } from '../src/contracts';
import { loadConfig } from '../src/config';
import { LocalForge } from '../src/forges/local';
import { campaignWorkflowId } from '../src/temporal/ids';
import { controlDeps } from '../src/workers/control-deps';
import { eventually } from './support/eventually';
import { realExecutionActivities, startHarness, type RegattaHarness } from './support/harness';
import { eventMs } from './support/history';
import { fixtureRepo } from './support/stack';

const config = loadConfig();
const forge = new LocalForge(path.join(config.home, 'forge', 'local'));
let harness: RegattaHarness;
let forgeDown: 'no' | 'once-after-push' | 'until-fixed' = 'no';
let sandboxesStarted = 0;

beforeAll(async () => {
  const deps = controlDeps(config);
  deps.publish!.afterPush = async (request: PublishRequest) => {
    if (forgeDown === 'once-after-push') {
      forgeDown = 'no';
      throw new Error(`injected crash after pushing ${request.branch}`);
    }
    if (forgeDown === 'until-fixed') throw ApplicationFailure.nonRetryable('the forge is down (injected)');
  };
  const execution = realExecutionActivities();
  harness = await startHarness({
    controlActivities: createControlActivities(deps),
    executionActivities: {
      ...execution,
      executeRun: (spec: Parameters<typeof execution.executeRun>[0]) => {
        sandboxesStarted++;
        return execution.executeRun(spec);
      },
    },
  });
});
afterAll(async () => harness?.shutdown());
afterEach(() => {
  forgeDown = 'no';
});

function service(label: string, tier = 'production'): Promise<Target> {
  return fixtureRepo(`fixtures/${label}-${harness.unique}`, {}, { owner: 'storefront', tier });
}

function renameCampaign(id: string, targets: Target[]): CampaignSpecInput {
  return {
    id: `${id}-${harness.unique}`,
    title: 'Rename oldName to newName',
    targets,
    steps: [{ recipe: 'replace', files: ['src/**/*.js', 'test.js'], find: 'oldName', replace: 'newName' }],
    verify: { commands: ['npm test'] },
    // Failed publishes wait a minute for a retry here, not the default week.
    publishRetryWindowMs: 60_000,
  };
}

async function remoteBranches(target: Target): Promise<Record<string, string>> {
  const refs = await git.listServerRefs({ http, url: target.url, prefix: 'refs/heads/' });
  return Object.fromEntries(refs.map((r) => [r.ref.replace('refs/heads/', ''), r.oid]));
}

/** Someone else pushes to the base branch while the run waits for approval. */
async function moveBase(target: Target, file: string, edit: (text: string) => string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'move-base-'));
  await git.clone({ fs, http, dir, url: target.url, ref: 'main', singleBranch: true, depth: 1 });
  fs.writeFileSync(path.join(dir, file), edit(fs.readFileSync(path.join(dir, file), 'utf8')));
  await git.add({ fs, dir, filepath: file });
  await git.commit({
    fs,
    dir,
    message: 'a colleague moved the base',
    author: { name: 'Colleague', email: 'colleague@acme.invalid' },
  });
  await git.push({ fs, http, dir, url: target.url, ref: 'main' });
}

/**
 * Event times trail the workflow's own clock by the time a workflow task takes: milliseconds when idle, over 300 ms
 * on a loaded 2-core machine (seen: six permits 9,690 ms apart in a 10 s window). A limiter that did not hold would
 * put them about 0 ms apart, so a second of slack still catches it.
 */
const TASK_LATENCY_MS = 1_000;

/** When the campaign granted each run its publish permit (epoch ms by run id), read from the campaign's history. */
async function permitsGranted(campaignId: string): Promise<Record<string, number>> {
  const history = await harness.client.temporal.workflow.getHandle(campaignWorkflowId(campaignId)).fetchHistory();
  const granted: Record<string, number> = {};
  for (const event of history.events ?? []) {
    const signal = event.signalExternalWorkflowExecutionInitiatedEventAttributes;
    if (signal?.signalName !== 'publishPermitGranted' || !signal.workflowExecution?.workflowId || !event.eventTime)
      continue;
    granted[signal.workflowExecution.workflowId] = eventMs(event);
  }
  return granted;
}

async function awaitingApproval(campaignId: string, repo: string): Promise<string> {
  const [run] = await eventually(
    () => harness.client.listRuns(campaignId, { state: 'needs_approval', repo }),
    (runs) => runs.length === 1,
    120_000,
  );
  return run.runId;
}

describe('publishing change requests', () => {
  it('a run that needs approval is published after approval, with the evidence in the change request body', async () => {
    const target = await service('approve', 'production-critical');
    const spec = renameCampaign('approve', [target]);
    await harness.client.startCampaign(spec);
    const runId = await awaitingApproval(spec.id!, target.repo);
    expect(await forge.listChangeRequests({ repo: target.repo })).toEqual([]);

    const approved = await harness.client.approveRun(spec.id!, runId, 'alice', 'looks right');
    // The answer is the run after the decision, not the stale needs_approval.
    expect(approved).toMatchObject({ runId, state: 'publishing' });
    await expect(harness.client.approveRun(spec.id!, runId, 'carol')).rejects.toThrow(
      new RegExp(`run ${runId} is (publishing|published), not awaiting approval`),
    );
    const result = await harness.client.campaignResult(spec.id!);
    expect(result.runs[0]).toMatchObject({
      state: 'published',
      changeRequestUrl: expect.stringContaining(target.repo),
    });

    const [changeRequest] = await forge.listChangeRequests({ repo: target.repo });
    expect(changeRequest).toMatchObject({ branch: `regatta/${spec.id}`, state: 'open', draft: false, number: 1 });
    expect((await remoteBranches(target))[`regatta/${spec.id}`]).toBe(changeRequest.headCommit);

    const record = JSON.parse(
      fs.readFileSync(
        path.join(config.home, 'forge/local', target.repo, `${encodeURIComponent(`regatta/${spec.id}`)}.json`),
        'utf8',
      ),
    );
    expect(record.body).toContain('approved by alice');
    expect(record.body).toContain(
      '### Verification: passed\n| command | result | duration |\n|---|---|---|\n| `npm test` | passed |',
    );
    expect(record.body).toContain('- `src/labels.js`');
    expect(record.body).toMatch(
      new RegExp(`- policy: regatta-default@${defaultPolicyVersion.replace(/\./g, '\\.')} \\(\`[0-9a-f]{12}\`\\)`),
    );
    expect(record.body).toContain(`/namespaces/default/workflows/${encodeURIComponent(runId)}`);
    const links = [...record.body.matchAll(/\]\((file:\/\/[^)]+)\)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThanOrEqual(4);
    for (const link of links) expect(fs.existsSync(fileURLToPath(link))).toBe(true);
  });

  it('a rejected run publishes nothing', async () => {
    const target = await service('reject', 'production-critical');
    const spec = renameCampaign('reject', [target]);
    await harness.client.startCampaign(spec);
    const rejected = await harness.client.rejectRun(
      spec.id!,
      await awaitingApproval(spec.id!, target.repo),
      'bob',
      'not this quarter',
    );
    expect(rejected).toMatchObject({ state: 'rejected' });
    const result = await harness.client.campaignResult(spec.id!);
    expect(result.runs[0].state).toBe('rejected');
    expect(Object.keys(await remoteBranches(target))).toEqual(['main']);
    expect(await forge.listChangeRequests({ repo: target.repo })).toEqual([]);
  });

  it('a crash between push and change request, retried, ends with exactly one branch and one change request', async () => {
    const target = await service('crash');
    const spec = renameCampaign('crash', [target]);
    forgeDown = 'once-after-push';
    await harness.client.startCampaign(spec);
    const result = await harness.client.campaignResult(spec.id!);
    expect(forgeDown).toBe('no');
    expect(result.runs[0].state).toBe('published');
    expect(Object.keys(await remoteBranches(target)).sort()).toEqual(['main', `regatta/${spec.id}`]);
    expect(await forge.listChangeRequests({ repo: target.repo })).toHaveLength(1);
  });

  it('a failed publish is retried by an update without executing the run again', async () => {
    const target = await service('retry');
    const spec = renameCampaign('retry', [target]);
    forgeDown = 'until-fixed';
    const before = sandboxesStarted;
    await harness.client.startCampaign(spec);
    const runId = `run/${spec.id}/${target.repo}`;
    await eventually(
      () => harness.client.runStatus(runId).catch(() => undefined),
      (run) => run?.state === 'publish_failed',
      120_000,
    );
    expect((await harness.client.runStatus(runId)).events.at(-1)?.note).toContain(
      'forge_error: the forge is down (injected)',
    );

    forgeDown = 'no';
    const retried = await harness.client.retryPublish(runId, 'carol');
    expect(retried.state).toBe('published');
    expect(sandboxesStarted - before).toBe(1);
    expect(retried.events.filter((e) => e.to === 'executing')).toHaveLength(1);
    expect(await forge.listChangeRequests({ repo: target.repo })).toHaveLength(1);
  });

  it('rebases onto a base that moved where the patch still applies, and reports a conflict where it does not', async () => {
    const [moved, conflicting] = [
      await service('moved', 'production-critical'),
      await service('conflict', 'production-critical'),
    ];
    const spec = renameCampaign('rebase', [moved, conflicting]);
    await harness.client.startCampaign(spec);
    const runs = [await awaitingApproval(spec.id!, moved.repo), await awaitingApproval(spec.id!, conflicting.repo)];

    await moveBase(moved, 'README.md', (text) => `${text}\nA line a colleague added.\n`);
    await moveBase(conflicting, 'src/labels.js', (text) =>
      text.replace('function oldName(value)', 'function oldName(value, prefix)'),
    );
    for (const runId of runs) await harness.client.approveRun(spec.id!, runId, 'alice');

    const result = await harness.client.campaignResult(spec.id!);
    const byRepo = Object.fromEntries(result.runs.map((r) => [r.repo, r]));
    expect(byRepo[moved.repo].state).toBe('published');
    expect(byRepo[conflicting.repo].state).toBe('publish_failed');
    const failed = await harness.client.runStatus(`run/${spec.id}/${conflicting.repo}`);
    expect(failed.events.at(-1)?.note).toMatch(
      /^conflict: the patch no longer applies to main: src\/labels\.js: the lines around line \d+ changed/,
    );

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'published-'));
    await git.clone({ fs, http, dir, url: moved.url, ref: `regatta/${spec.id}`, singleBranch: true, depth: 2 });
    expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toContain('A line a colleague added.');
    expect(fs.readFileSync(path.join(dir, 'src/labels.js'), 'utf8')).toContain('function newName(value)');
  });

  it("twenty runs publishing at once never exceed the campaign's rate of five per window, and the hold is visible", async () => {
    const targets: Target[] = [];
    for (let i = 0; i < 20; i++) targets.push(await service(`rate-${i}`));
    const windowMs = 10_000;
    const spec = { ...renameCampaign('rate', targets), maxConcurrentRuns: 10, publishRate: { max: 5, windowMs } };
    await harness.client.startCampaign(spec);
    const held = await eventually(
      () => harness.client.campaignProgress(spec.id!),
      (p) => p.publishing.heldUntil !== undefined,
      240_000,
    );
    expect(held.publishing).toMatchObject({ grantedInWindow: 5, max: 5, windowMs });

    const result = await harness.client.campaignResult(spec.id!);
    expect(result.counts).toEqual({ published: 20 });

    // The permits, as the campaign's history recorded them: any six span a full window.
    const granted = await permitsGranted(spec.id!);
    expect(Object.keys(granted)).toHaveLength(20);
    const grants = Object.values(granted).sort((a, b) => a - b);
    for (let i = 5; i < grants.length; i++)
      expect(grants[i] - grants[i - 5]).toBeGreaterThanOrEqual(windowMs - TASK_LATENCY_MS);

    // At the forge each change request appears one publish (clone, apply, push) after its permit; only the spread of
    // that delay, measured here, can bring six change requests closer together than a window.
    const created = Object.fromEntries(
      targets.map((t) => [
        `run/${spec.id}/${t.repo}`,
        Date.parse(
          JSON.parse(
            fs.readFileSync(
              path.join(config.home, 'forge/local', t.repo, `${encodeURIComponent(`regatta/${spec.id}`)}.json`),
              'utf8',
            ),
          ).createdAt,
        ),
      ]),
    );
    const delays = Object.keys(created).map((runId) => created[runId] - granted[runId]);
    const spread = Math.max(...delays) - Math.min(...delays);
    const times = Object.values(created).sort((a, b) => a - b);
    for (let i = 5; i < times.length; i++)
      expect(times[i] - times[i - 5]).toBeGreaterThanOrEqual(windowMs - spread - TASK_LATENCY_MS);
  }, 600_000);

  it('the burndown follows the change requests: merged is done, closed unmerged is failed, the rest stay open', async () => {
    const targets = [await service('burn-merge'), await service('burn-close'), await service('burn-open')];
    const spec = { ...renameCampaign('burndown', targets), tracking: { pollMs: 300, forMs: 120_000 } };
    await harness.client.startCampaign(spec);
    expect((await harness.client.campaignResult(spec.id!)).counts).toEqual({ published: 3 });
    const initial = await eventually(
      () => harness.client.campaignBurndown(spec.id!),
      (b) => b.checkedAt !== undefined,
      30_000,
    );
    expect(initial).toMatchObject({ done: 0, open: 3, pending: 0, failed: 0 });

    const branch = `regatta/${spec.id}`;
    const [merge, close] = [
      { name: targets[0].repo, url: targets[0].url },
      { name: targets[1].repo, url: targets[1].url },
    ];
    await forge.markMerged(merge, (await forge.findChangeRequest(merge, branch))!.number);
    await forge.closeChangeRequest(close, (await forge.findChangeRequest(close, branch))!.number);

    const later = await eventually(
      () => harness.client.campaignBurndown(spec.id!),
      (b) => b.open === 1,
      30_000,
    );
    expect(later).toMatchObject({ done: 1, open: 1, pending: 0, failed: 1 });
    expect(later.changes.map((c) => [c.repo, c.state]).sort()).toEqual(
      [
        [targets[0].repo, 'merged'],
        [targets[1].repo, 'closed'],
        [targets[2].repo, 'open'],
      ].sort(),
    );
  });
});
