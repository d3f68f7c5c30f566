/** What a run's steps try to smuggle out, executeRun refuses, and every way a run ends leaves no container behind. */
import { CancelledFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createExecutionActivities } from '../../activities/execution/execute-run';
import { Sandbox } from '../../src/sandbox/driver';
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

describe('changes that cannot be carried in a patch', () => {
  it('refuses a symlink to a host file and reports it instead of reading the file', async () => {
    const spec = specFor(fixture.repoUrl, [
      command("ln -s /etc/passwd passwd-link && sed -i 's/oldName/newName/' README.md"),
    ]);
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result.outcome).toBe('failed');
    expect(result.failure).toEqual({
      kind: 'policy',
      message: expect.stringContaining('passwd-link (symlink pointing outside the workspace (to /etc/passwd))'),
    });
    expect(result.manifest.artifacts.map((a) => a.name)).not.toContain('patch.diff');
    const events = JSON.parse(await readArtifact(fixture, result, 'events.json')) as {
      kind: string;
      name: string;
      allowed: boolean;
    }[];
    expect(events).toContainEqual(expect.objectContaining({ kind: 'patch', name: 'passwd-link', allowed: false }));
    for (const ref of result.manifest.artifacts)
      expect((await fixture.artifacts.get(ref.uri)).toString()).not.toContain('root:x:0:0');
  });

  it('refuses a directory swapped for a symlink to the host and carries none of its files', async () => {
    const spec = specFor(fixture.repoUrl, [command('rm -rf src && ln -s /etc src')]);
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result.outcome).toBe('failed');
    expect(result.failure?.message).toContain('src (symlink pointing outside the workspace (to /etc))');
    expect(result.manifest.artifacts.map((a) => a.name)).not.toContain('patch.diff');
  });

  it('refuses binary content and files over the size limit, without hanging on a FIFO', async () => {
    const spec = specFor(fixture.repoUrl, [
      command(
        'printf "\\000\\001\\002" > blob.bin && head -c 2000000 /dev/zero | tr "\\0" a > big.txt && rm test.js && mkfifo test.js',
      ),
    ]);
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result.outcome).toBe('failed');
    expect(result.failure?.kind).toBe('policy');
    expect(result.failure?.message).toContain('blob.bin (binary content)');
    expect(result.failure?.message).toContain('big.txt (larger than 1048576 bytes)');
    expect(result.failure?.message).toContain('test.js (not a regular file)');
  });

  it('leaves out large files the repository ignores, such as installed dependencies', async () => {
    const spec = specFor(fixture.repoUrl, [
      command(
        "mkdir -p node_modules/x && head -c 2000000 /dev/zero > node_modules/x/blob && sed -i 's/oldName/newName/' README.md",
      ),
    ]);
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result).toMatchObject({ outcome: 'changed', touchedFiles: ['README.md'] });
  });

  it('keeps the git directory out of the sandbox, so a step cannot rewrite the base of its own patch', async () => {
    const spec = specFor(fixture.repoUrl, [
      command(
        "test ! -e .git && mkdir .git && echo 0000000000000000000000000000000000000000 > .git/HEAD && sed -i 's/oldName/newName/' README.md",
      ),
    ]);
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result).toMatchObject({ outcome: 'changed', touchedFiles: ['README.md'] });
    expect(await readArtifact(fixture, result, 'patch.diff')).toContain(
      '-Call oldName() to get a label.\n+Call newName() to get a label.\n',
    );
  });
});

describe('limits and the end of a run', () => {
  it('fails a step whose command outlives its time limit as a timeout', async () => {
    const spec = specFor(fixture.repoUrl, [command('sleep 30', 'hangs')], {
      limits: { ...specFor(fixture.repoUrl, []).limits, commandTimeoutMs: 1_000 },
    });
    const started = Date.now();
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result.failure).toEqual({
      kind: 'timeout',
      message: 'step "hangs" was stopped by the per-command time limit (1000 ms): sleep 30',
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await containersOfRun(fixture.docker, spec.runId)).toEqual([]);
  });

  it("ends a run whose step leaves a fork bomb promptly, with the step's outcome, and verifies in a clean sandbox", async () => {
    // `bomb &`: the step's own shell forks once, before the bomb fills the table, so it exits as it says, not on a refused fork.
    const bomb = "sed -i 's/oldName/newName/' README.md && bomb() { bomb | bomb & }; bomb & exit 0";
    const spec = specFor(fixture.repoUrl, [command(bomb, 'bomb')], {
      verify: { commands: ['node test.js'] },
      limits: { ...specFor(fixture.repoUrl, []).limits, runTimeoutMs: 240_000, commandTimeoutMs: 120_000 },
    });
    const started = Date.now();
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(Date.now() - started).toBeLessThan(24_000);
    expect(result).toMatchObject({ outcome: 'changed', touchedFiles: ['README.md'] });
    expect(result.verification).toMatchObject({
      verdict: 'passed',
      commands: [expect.objectContaining({ command: 'node test.js', exitCode: 0 })],
    });
    expect(await containersOfRun(fixture.docker, spec.runId)).toEqual([]);
  });

  it('fails a run whose step exits non-zero after starting a fork bomb as that step, not at the deadline', async () => {
    const spec = specFor(fixture.repoUrl, [command('bomb() { bomb | bomb & }; bomb & exit 3', 'bomb')], {
      verify: { commands: ['node test.js'] },
      limits: { ...specFor(fixture.repoUrl, []).limits, runTimeoutMs: 240_000, commandTimeoutMs: 120_000 },
    });
    const started = Date.now();
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(Date.now() - started).toBeLessThan(24_000);
    expect(result.failure).toEqual({ kind: 'step', message: 'step "bomb" failed: exited 3' });
  });

  it('ends a run past its own deadline with timeout evidence, whatever its commands allow', async () => {
    const spec = specFor(fixture.repoUrl, [command('sleep 60', 'slow')], {
      limits: { ...specFor(fixture.repoUrl, []).limits, runTimeoutMs: 3_000, commandTimeoutMs: 120_000 },
    });
    const started = Date.now();
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result.outcome).toBe('failed');
    expect(result.failure).toEqual({
      kind: 'timeout',
      message: expect.stringMatching(/^stopped by the run deadline \(3000 ms\) in /),
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await containersOfRun(fixture.docker, spec.runId)).toEqual([]);
  });

  it('removes the container and throws CancelledFailure when the activity is cancelled mid-command', async () => {
    const spec = specFor(fixture.repoUrl, [command('sleep 120')]);
    const env = new MockActivityEnvironment({ attempt: 1 });
    const { executeRun } = createExecutionActivities(fixture.deps);
    const running = env.run(executeRun, spec);
    const outcome = running.then(
      () => 'finished',
      (err: unknown) => err,
    );
    await waitFor(async () => (await containersOfRun(fixture.docker, spec.runId)).some((c) => c.State === 'running'));
    const cancelledAt = Date.now();
    env.cancel();
    expect(await outcome).toBeInstanceOf(CancelledFailure);
    expect(Date.now() - cancelledAt).toBeLessThan(15_000);
    expect(await containersOfRun(fixture.docker, spec.runId)).toEqual([]);
  });

  it('reaps the container an earlier attempt of the run left behind', async () => {
    const spec = specFor(fixture.repoUrl, [command('true')]);
    const leftover = await Sandbox.start(fixture.docker, {
      image: fixture.image,
      workspaceDir: fixture.root,
      runId: spec.runId,
      attempt: 1,
      limits: spec.limits,
      network: { mode: 'none' },
    });
    const { result } = await runExecuteRun(fixture.deps, spec, 2);
    expect(result).toMatchObject({ attempt: 2, outcome: 'no_changes' });
    await expect(leftover.container.inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await containersOfRun(fixture.docker, spec.runId)).toEqual([]);
  });

  it('fails a run whose network profile this worker cannot provide, rather than running it with more network', async () => {
    const spec = specFor(fixture.repoUrl, [command('true')], { network: 'full' });
    await expect(runExecuteRun(fixture.deps, spec)).rejects.toThrow('cannot provide the full network profile');
    expect(await containersOfRun(fixture.docker, spec.runId)).toEqual([]);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('secrets in a patch', () => {
  it('refuses to store a patch that adds a token, and keeps the token out of every artifact', async () => {
    const token = `ghp_${'Zq7'.repeat(12)}`;
    const spec = specFor(fixture.repoUrl, [command(`echo "const token = '${token}';" >> src/index.js`)]);
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result.outcome).toBe('failed');
    expect(result.failure).toEqual({
      kind: 'policy',
      message: 'the patch adds what looks like a secret (GitHub token); it was not stored',
    });
    for (const ref of result.manifest.artifacts)
      expect((await fixture.artifacts.get(ref.uri)).toString()).not.toContain(token);
  });
});
