/**
 * Python lock data the way the repository's own tool makes it: a repository with a uv.lock has it moved by
 * `uv lock --upgrade-package` in the sandbox (through the registry route, the lock's own addresses kept), and one
 * whose lock data comes from Poetry is refused, naming the tool. Real Temporal, Docker, git, uv, the
 * stack's Python mirror and the host's index.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostPythonIndex } from '../../src/ecosystems/python/registry';
import { preparePythonToolchain } from '../../src/ecosystems/python/toolchain';
import { toolchainsFromEnv } from '../../src/toolchains';
import { ecosystemRepo, pythonServiceFiles, pythonVerify, semverRenameStep } from '../support/ecosystem-fixtures';
import { artifactsOf, startEcosystemHarness } from '../support/ecosystem-harness';
import type { RegattaHarness } from '../support/harness';

let harness: RegattaHarness;

beforeAll(async () => {
  harness = await startEcosystemHarness();
});
afterAll(async () => harness?.shutdown());

/** The service's uv.lock as the repository would have made it: uv against the host's own index, semver at 2.13.0. */
async function lockedService(): Promise<Record<string, string>> {
  const files = pythonServiceFiles('2.13.0');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-uv-service-'));
  try {
    fs.writeFileSync(path.join(dir, 'pyproject.toml'), files['pyproject.toml']);
    const toolchain = await preparePythonToolchain(dir, toolchainsFromEnv().cache);
    execFileSync(path.join(toolchain!.mounts[0].hostPath, 'bin', 'uv'), ['lock', '-P', 'semver==2.13.0'], {
      cwd: dir,
      env: {
        ...process.env,
        UV_DEFAULT_INDEX: hostPythonIndex(),
        UV_PYTHON: '/usr/bin/python3',
        UV_PYTHON_DOWNLOADS: 'never',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return { ...files, 'uv.lock': fs.readFileSync(path.join(dir, 'uv.lock'), 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const steps = [{ recipe: 'python-upgrade' as const, package: 'semver', version: '3.0.4' }, semverRenameStep];
const verify = pythonVerify;

it('moves uv.lock with uv lock --upgrade-package in the sandbox, keeping the lock’s own addresses, and publishes', async () => {
  const files = await lockedService();
  const target = await ecosystemRepo(`fixtures/py-uvlock-${harness.unique}`, files, 'pricing');
  const spec = {
    id: `semver-uvlock-${harness.unique}`,
    title: 'Upgrade semver to 3.0.4 in a uv project',
    taskType: 'dependency_upgrade' as const,
    targets: [target],
    steps,
    verify,
  };
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id);
  const run = await harness.client.runStatus(result.runs[0].runId);
  expect({ state: run.state, failure: run.failure }).toEqual({ state: 'published', failure: undefined });

  const artifacts = await artifactsOf(harness, result.runs[0].runId);
  const patch = artifacts['patch.diff'];
  expect(patch).toContain('-    "semver>=2.13.0,<4",\n+    "semver>=3.0.4,<4",');
  expect(patch).toMatch(/ name = "semver"\n-version = "2\.13\.0"\n\+version = "3\.0\.4"/);
  // Every address in the lock is the one the repository's lock had: none is the sandbox's route.
  expect(patch).not.toContain('/upstream/python');
  const registry = /registry = "([^"]+)"/.exec(files['uv.lock'])![1];
  const added = [...patch.matchAll(/^\+.*registry = "([^"]+)"/gm)].map((m) => m[1]);
  expect(added.every((r) => r === registry)).toBe(true);
  expect(artifacts['events.json']).toContain('uv.lock 2.13.0 → 3.0.4');
  expect(artifacts['events.json']).toContain("uv lock --upgrade-package 'semver==3.0.4'");
}, 600_000);

it('refuses a Poetry lock, naming the tool (pip-compile has its own test: pip-compile.test.ts)', async () => {
  const poetry = await ecosystemRepo(
    `fixtures/py-poetry-${harness.unique}`,
    {
      ...pythonServiceFiles('2.13.0'),
      'poetry.lock': '[[package]]\nname = "semver"\nversion = "2.13.0"\n',
    },
    'pricing',
  );
  const spec = {
    id: `semver-tools-${harness.unique}`,
    title: 'Upgrade semver where Poetry locks it',
    taskType: 'dependency_upgrade' as const,
    targets: [poetry],
    steps,
    verify,
  };
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id);
  expect(result.runs[0].state).toBe('failed');
  expect(JSON.stringify((await harness.client.runStatus(result.runs[0].runId)).failure)).toContain(
    'the repository is locked by Poetry (poetry.lock)',
  );
}, 600_000);
