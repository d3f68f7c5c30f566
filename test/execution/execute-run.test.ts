/** executeRun on real Docker against a repository served over smart HTTP by git http-backend. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runChecked } from '../../src/host/command';
import { hashSpec } from '../../src/contracts/hash';
import { ExecutionResult } from '../../src/contracts';
import {
  command,
  containersOfRun,
  readArtifact,
  runExecuteRun,
  specFor,
  startExecutionFixture,
  type ExecutionFixture,
} from './fixture';

let fixture: ExecutionFixture;

beforeAll(async () => {
  fixture = await startExecutionFixture();
});

afterAll(async () => {
  await fixture?.close();
});

describe('executeRun', () => {
  it('clones the repository, runs a command step in the sandbox and returns the exact patch as evidence', async () => {
    const spec = specFor(
      fixture.repoUrl,
      [command("sed -i 's/oldName/newName/g' src/label.js src/index.js", 'rename')],
      { verify: { commands: ['node test.js'] } },
    );

    const { result, heartbeats } = await runExecuteRun(fixture.deps, spec);

    expect(() => ExecutionResult.parse(result)).not.toThrow();
    expect(result.outcome).toBe('changed');
    expect(result.failure).toBeUndefined();
    expect(result.touchedFiles).toEqual(['src/index.js', 'src/label.js']);
    expect(result.commands).toEqual(["sed -i 's/oldName/newName/g' src/label.js src/index.js", 'node test.js']);
    expect(result.specHash).toBe(hashSpec(spec));
    expect(result.attempt).toBe(1);
    expect(result.worker).toEqual({ identity: 'test-execution', hostname: os.hostname() });
    expect(result.verification.verdict).toBe('passed');
    expect(await readArtifact(fixture, result, 'patch.diff')).toBe(
      [
        'diff --git a/src/index.js b/src/index.js',
        '--- a/src/index.js',
        '+++ b/src/index.js',
        '@@ -1,3 +1,3 @@',
        "-const { oldName } = require('./label');",
        "+const { newName } = require('./label');",
        ' ',
        '-module.exports = () => oldName(1);',
        '+module.exports = () => newName(1);',
        'diff --git a/src/label.js b/src/label.js',
        '--- a/src/label.js',
        '+++ b/src/label.js',
        '@@ -1,5 +1,5 @@',
        '-function oldName(n) {',
        '+function newName(n) {',
        '   return `widget-${n}`;',
        ' }',
        ' ',
        '-module.exports = { oldName };',
        '+module.exports = { newName };',
        '',
      ].join('\n'),
    );
    expect(heartbeats).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ phase: 'cloning' }),
        expect.objectContaining({ phase: 'verifying' }),
      ]),
    );
    expect(await containersOfRun(fixture.docker, spec.runId)).toEqual([]);
  });

  it('produces a patch that native git applies to a fresh clone of the same commit', async () => {
    const spec = specFor(fixture.repoUrl, [
      command(
        "sed -i 's/oldName/newName/' README.md && printf 'no newline' > NOTES && rm test.js && printf 'a\\nb\\n' >> src/label.js",
        'edits',
      ),
    ]);
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result.outcome).toBe('changed');
    expect(result.touchedFiles).toEqual(['NOTES', 'README.md', 'src/label.js', 'test.js']);

    const check = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-apply-'));
    try {
      await runChecked('git', ['clone', '-q', '--depth', '1', fixture.repoUrl, check]);
      fs.writeFileSync(
        path.join(check, '..', path.basename(check) + '.diff'),
        await readArtifact(fixture, result, 'patch.diff'),
      );
      await runChecked('git', [
        '-C',
        check,
        'apply',
        '--index',
        path.join(check, '..', path.basename(check) + '.diff'),
      ]);
      expect(fs.readFileSync(path.join(check, 'NOTES'), 'utf8')).toBe('no newline');
      expect(fs.existsSync(path.join(check, 'test.js'))).toBe(false);
      expect(
        fs.readFileSync(path.join(check, 'src/label.js'), 'utf8').endsWith('module.exports = { oldName };\na\nb\n'),
      ).toBe(true);
    } finally {
      fs.rmSync(check, { recursive: true, force: true });
      fs.rmSync(check + '.diff', { force: true });
    }
  });

  it('reports no_changes when the steps leave the tree as it was', async () => {
    const spec = specFor(fixture.repoUrl, [
      command("grep -q oldName src/label.js && sed -i 's/absent/present/' README.md"),
    ]);
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result.outcome).toBe('no_changes');
    expect(result.touchedFiles).toEqual([]);
    expect(result.manifest.artifacts.map((a) => a.name)).not.toContain('patch.diff');
    expect(result.verification.verdict).toBe('skipped');
  });

  it('fails the run when a step exits non-zero, and keeps the evidence of what ran', async () => {
    const spec = specFor(fixture.repoUrl, [
      command('echo about to fail; exit 3', 'breaks'),
      command('touch never-runs'),
    ]);
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result.outcome).toBe('failed');
    expect(result.failure).toEqual({
      kind: 'step',
      message: expect.stringContaining('step "breaks" failed: exited 3'),
    });
    expect(result.commands).toEqual(['echo about to fail; exit 3']);
    expect(await readArtifact(fixture, result, 'steps.log')).toContain('about to fail');
    expect(await containersOfRun(fixture.docker, spec.runId)).toEqual([]);
  });

  it('fails with kind infra, naming the URL, when the repository cannot be cloned', async () => {
    const url = 'http://127.0.0.1:9/acme/nowhere.git';
    const spec = specFor(fixture.repoUrl, [command('true')], { repo: { name: 'acme/nowhere', url, ref: 'main' } });
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result.outcome).toBe('failed');
    expect(result.failure?.kind).toBe('infra');
    expect(result.failure?.message).toContain(url);
    expect(await containersOfRun(fixture.docker, spec.runId)).toEqual([]);
  });

  it('fails with kind infra when the repository does not exist on a reachable server', async () => {
    const url = `${fixture.git.baseUrl}/acme/missing.git`;
    const spec = specFor(fixture.repoUrl, [command('true')], { repo: { name: 'acme/missing', url, ref: 'main' } });
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result).toMatchObject({
      outcome: 'failed',
      failure: { kind: 'infra', message: expect.stringContaining(url) },
    });
  });

  it('lists every stored artifact in the manifest with the sha256 and size of the stored bytes', async () => {
    const spec = specFor(fixture.repoUrl, [command("sed -i 's/oldName/newName/g' README.md")]);
    const { result } = await runExecuteRun(fixture.deps, spec);
    const names = result.manifest.artifacts.map((a) => a.name);
    expect(names).toEqual(['patch.diff', 'steps.log', 'verification.json', 'events.json', 'manifest.json']);
    for (const ref of result.manifest.artifacts) {
      const bytes = await fixture.artifacts.get(ref.uri);
      expect({ name: ref.name, sha256: ref.sha256, size: ref.size }).toEqual({
        name: ref.name,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        size: bytes.length,
      });
      expect(ref.uri.startsWith('file://')).toBe(true);
    }
    const events = JSON.parse(await readArtifact(fixture, result, 'events.json')) as { seq: number; kind: string }[];
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events.map((e) => e.kind)).toEqual(['workspace', 'workspace', 'toolchain', 'command', 'step', 'patch']);
    // The second workspace event says which ecosystems the clone uses, from its manifest files (this one has none).
    expect(events[1]).toMatchObject({ name: 'ecosystems', detail: expect.stringMatching(/^none recognised/) });
  });

  it('redacts secrets a step prints before the log is stored', async () => {
    const token = `ghp_${'A1b2C3d4'.repeat(5)}`;
    const spec = specFor(fixture.repoUrl, [command(`echo "token is ${token}"`)]);
    const { result } = await runExecuteRun(fixture.deps, spec);
    const log = await readArtifact(fixture, result, 'steps.log');
    expect(log).not.toContain(token);
    expect(log).toContain('token is [REDACTED]');
  });

  it('reports how long cloning, the toolchain, the sandbox, the steps, verification and the evidence each took', async () => {
    const spec = specFor(
      fixture.repoUrl,
      [command("sleep 1 && sed -i 's/oldName/newName/g' src/label.js src/index.js")],
      {
        verify: { commands: ['sleep 1 && node test.js'] },
      },
    );
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result.outcome).toBe('changed');
    const durations = result.durations!;
    expect(durations.cloneMs).toBeGreaterThan(0);
    expect(durations.sandboxStartMs).toBeGreaterThan(0);
    expect(durations.stepsMs).toBeGreaterThanOrEqual(1000);
    expect(durations.verifyMs).toBeGreaterThanOrEqual(1000);
    expect(durations.agentMs).toBe(0);
    expect(durations.toolchainMs).toBeGreaterThanOrEqual(0);
    expect(durations.evidenceMs).toBeGreaterThan(0);
    const attemptMs = Date.parse(result.finishedAt) - Date.parse(result.startedAt);
    const phasesMs = Object.values(durations).reduce((sum, ms) => sum + ms, 0);
    // Each phase is rounded to the millisecond on its own.
    expect(phasesMs).toBeLessThanOrEqual(attemptMs + Object.keys(durations).length);
  });

  it('reports failed and flaky verification beside the patch, leaving the decision to the control plane', async () => {
    const spec = specFor(fixture.repoUrl, [command("sed -i 's/oldName/newName/' src/label.js")], {
      verify: { commands: ['test -e /tmp/flag || { touch /tmp/flag; exit 1; }', 'node test.js'] },
    });
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result.outcome).toBe('changed');
    expect(result.verification.verdict).toBe('failed');
    expect(result.verification.commands.map((c) => [c.command, c.exitCode])).toEqual([
      ['test -e /tmp/flag || { touch /tmp/flag; exit 1; }', 0],
      ['node test.js', 1],
    ]);
    expect(result.verification.commands[1].output).toContain('oldName is not a function');
  });

  it('classifies a verifier that fails once and then passes as flaky', async () => {
    // No baseline: it would run the command on the base first and spend the flag.
    const spec = specFor(fixture.repoUrl, [command('true')], {
      verify: { commands: ['test -e /tmp/flag || { touch /tmp/flag; exit 1; }'], baseline: false },
    });
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result.verification.verdict).toBe('flaky');
  });

  it('heartbeats while a long command runs, and leaves no workspace behind', async () => {
    const spec = specFor(fixture.repoUrl, [command('sleep 5', 'wait')]);
    const { result, heartbeats } = await runExecuteRun(fixture.deps, spec);
    expect(result.outcome).toBe('no_changes');
    expect(heartbeats.filter((h) => (h as { step?: string }).step === 'sleep 5').length).toBeGreaterThanOrEqual(3);
    expect(fs.readdirSync(fixture.deps.workspaceRoot)).toEqual([]);
  });

  it('rejects a malformed spec before touching anything, naming the field', async () => {
    const spec = { ...specFor(fixture.repoUrl, [command('true')]), network: 'everything' } as unknown as Parameters<
      typeof runExecuteRun
    >[1];
    await expect(runExecuteRun(fixture.deps, spec)).rejects.toThrow(/network/);
  });
});
