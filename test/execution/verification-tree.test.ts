/** Verification reads the tree it verifies: what it writes is never published, and a command its time limit stops is a timeout. */
import { PolicyBundle } from '../../policies/bundle';
import type { PolicyDecision, RunRequest } from '../../src/contracts';
import { parseContract } from '../../src/contracts/validate';
import { buildExecutionSpec } from '../../workflows/execution-spec';
import { command, readArtifact, runExecuteRun, specFor, startExecutionFixture, type ExecutionFixture } from './fixture';

let fixture: ExecutionFixture;

beforeAll(async () => {
  fixture = await startExecutionFixture();
});

afterAll(async () => {
  await fixture?.close();
});

type Event = { kind: string; name: string; allowed: boolean; detail?: string };
const rename = command("sed -i 's/oldName/newName/' README.md", 'rename');

describe('verification that changes the tree', () => {
  it('fails as verification, naming each file it changed, added or deleted, and stores no patch', async () => {
    const verifyCommand =
      'node test.js && echo "// verified" >> src/label.js && echo out > report.txt && rm src/index.js && mkdir -p node_modules/.cache && echo c > node_modules/.cache/x';
    const spec = specFor(fixture.repoUrl, [rename], { verify: { commands: [verifyCommand] } });

    const { result } = await runExecuteRun(fixture.deps, spec);

    expect(result.outcome).toBe('failed');
    expect(result.failure?.kind).toBe('verification');
    expect(result.failure?.message).toContain(
      'verification changed files it may only read: report.txt (added), src/index.js (deleted), src/label.js (changed)',
    );
    expect(result.failure?.message).not.toContain('node_modules');
    expect(result.manifest.artifacts.map((a) => a.name)).not.toContain('patch.diff');
    const events = JSON.parse(await readArtifact(fixture, result, 'events.json')) as Event[];
    const refused = events.filter((e) => e.kind === 'verifier' && !e.allowed).map((e) => e.name);
    expect(refused).toEqual(['report.txt', 'src/index.js', 'src/label.js']);
  });

  it('publishes only what the steps changed when verification writes in the policy-named generated paths', async () => {
    const steps = [command("sed -i 's/oldName/newName/' README.md src/label.js", 'rename')];
    const spec = specFor(fixture.repoUrl, steps, {
      verify: {
        commands: ['echo "// built" >> src/label.js && echo out > dist.txt'],
        generatedPaths: ['src/label.js', 'dist.*'],
      },
    });

    const { result } = await runExecuteRun(fixture.deps, spec);

    expect(result).toMatchObject({ outcome: 'changed', touchedFiles: ['README.md', 'src/label.js'] });
    expect(result.verification.verdict).toBe('passed');
    const patch = await readArtifact(fixture, result, 'patch.diff');
    expect(patch).toContain('+function newName(n) {');
    expect(patch).not.toContain('// built');
    expect(patch).not.toContain('dist.txt');
    const events = JSON.parse(await readArtifact(fixture, result, 'events.json')) as Event[];
    expect(
      events
        .filter((e) => e.kind === 'verifier' && e.allowed && e.detail?.includes('generated path'))
        .map((e) => e.name),
    ).toEqual(['dist.txt', 'src/label.js']);
  });

  it("leaves a tree verification did not change exactly as before: the patch is the steps' change", async () => {
    const spec = specFor(fixture.repoUrl, [rename], {
      verify: { commands: ['node test.js', 'mkdir -p node_modules/x && echo y > node_modules/x/y'] },
    });

    const { result } = await runExecuteRun(fixture.deps, spec);

    expect(result).toMatchObject({ outcome: 'changed', touchedFiles: ['README.md'] });
    expect(await readArtifact(fixture, result, 'patch.diff')).toContain('+Call newName() to get a label.');
  });
});

describe('verification stopped by a time limit', () => {
  it('is a timeout naming the per-command limit, whatever exit code the kill left', async () => {
    const spec = specFor(fixture.repoUrl, [rename], {
      verify: { commands: ['sleep 30'] },
      limits: { ...specFor(fixture.repoUrl, []).limits, commandTimeoutMs: 1_500 },
    });

    const { result } = await runExecuteRun(fixture.deps, spec);

    expect(result.failure).toEqual({
      kind: 'timeout',
      message: 'verification command was stopped by the per-command time limit (1500 ms): sleep 30',
    });
    expect(result.verification.commands).toEqual([expect.objectContaining({ command: 'sleep 30', exitCode: 137 })]);
  });

  it('is a timeout naming the run deadline when the run runs out during verification', async () => {
    const spec = specFor(fixture.repoUrl, [rename], {
      // Without a baseline, which would meet the deadline on the base first.
      verify: { commands: ['sleep 60'], baseline: false },
      limits: { ...specFor(fixture.repoUrl, []).limits, runTimeoutMs: 20_000, commandTimeoutMs: 60_000 },
    });
    const started = Date.now();

    const { result } = await runExecuteRun(fixture.deps, spec);

    expect(result.failure).toEqual({
      kind: 'timeout',
      message: 'stopped by the run deadline (20000 ms) in verifying: sleep 60',
    });
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});

describe('the generated-paths setting', () => {
  const decision = (verifyGeneratedPaths?: string[]) =>
    ({ ...baseDecision, ...(verifyGeneratedPaths ? { verifyGeneratedPaths } : {}) }) as PolicyDecision;

  it('reaches the execution spec only from the policy decision, and leaves specs without it as they were', () => {
    expect(buildExecutionSpec(request, decision(['dist/**'])).verify).toEqual({
      commands: ['npm test'],
      generatedPaths: ['dist/**'],
    });
    expect(buildExecutionSpec(request, decision()).verify).toEqual({ commands: ['npm test'] });
  });

  it('is validated where a bundle is loaded, naming the field and the value', () => {
    const bundle = { name: 'b', version: '1', defaults: { ...settings, verifyGeneratedPaths: 'dist/**' }, rules: [] };
    expect(() => parseContract(PolicyBundle, bundle, 'policy bundle b.json')).toThrow(/verifyGeneratedPaths/);
    expect(
      parseContract(
        PolicyBundle,
        { ...bundle, defaults: { ...settings, verifyGeneratedPaths: ['dist/**'] } },
        'policy bundle b.json',
      ).defaults.verifyGeneratedPaths,
    ).toEqual(['dist/**']);
  });
});

const settings = {
  autonomy: 'supervised_pr',
  sandboxProfile: 'standard',
  network: 'none',
  allowedTools: [],
  allowedCommands: ['npm test'],
  allowedPaths: ['**'],
  forbiddenPaths: [],
  maxDurationMs: 600_000,
  maxToolCalls: 0,
  maxPatchFiles: 10,
  maxBudgetUsd: 0,
  approvalBeforePr: false,
};

const baseDecision = {
  ...settings,
  verdict: 'allow',
  reason: 'allowed',
  bundle: { name: 'b', version: '1', hash: 'h' },
  firedRules: [],
};

const request = {
  campaignId: 'c',
  runId: 'run/c/acme/widget',
  target: { repo: 'acme/widget', url: 'http://127.0.0.1/acme/widget.git', ref: 'main' },
  steps: [rename],
  verify: { commands: ['npm test'] },
  agent: { task: 't', mode: 'on_failure' },
} as unknown as RunRequest;
