/**
 * npm-upgrade on real repositories in real sandboxes, installing @acme/logger from the stack's registry mirror on
 * the registry_only network: package.json keeps the repository's range style (or follows rangeStrategy), its
 * formatting stays, and the lockfile is updated with the repository's own package manager.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionResult, Step } from '../../src/contracts';
import { createRepo } from '../../src/dev/fleet';
import { networkProfiles } from '../../src/sandbox/egress';
import { readStackInfo } from '../support/stack';
import { integrityOf, pnpmLockfile } from '../support/lockfiles';
import { readArtifact, runExecuteRun, specFor, startExecutionFixture, type ExecutionFixture } from './fixture';

let fixture: ExecutionFixture;
let network: ReturnType<typeof networkProfiles>;
let lockfileAt1: string;
let repoCount = 0;

beforeAll(async () => {
  fixture = await startExecutionFixture();
  const registryUrl = readStackInfo().registryMirror.url;
  network = networkProfiles(fixture.docker, { registryUrl });
  fixture.deps.networkFor = network.networkFor;
  lockfileAt1 = lockfileFor(
    { name: 'report-card', version: '2.4.1', devDependencies: { '@acme/logger': '1.0.0' } },
    registryUrl,
  );
});

afterAll(async () => {
  await network?.close();
  await fixture?.close();
});

/** A package-lock.json made by npm on the host, as the repository's author would have committed it. */
function lockfileFor(manifest: object, registry: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-lock-'));
  try {
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest));
    execFileSync(
      'npm',
      ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', `--registry=${registry}`],
      { cwd: dir, stdio: 'pipe' },
    );
    return fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function packageJson(fields: object, indent: string | number = 2): string {
  return `${JSON.stringify({ name: 'report-card', version: '2.4.1', description: 'Renders report cards.', main: 'index.js', ...fields }, null, indent)}\n`;
}

async function upgrade(
  files: Record<string, string>,
  step: Omit<Extract<Step, { recipe: 'npm-upgrade' }>, 'recipe' | 'package'>,
): Promise<ExecutionResult> {
  repoCount += 1;
  const name = `libs/report-card-${repoCount}`;
  await createRepo(
    path.join(fixture.root, 'repos'),
    name,
    { '.gitignore': 'node_modules/\n', 'index.js': "module.exports = require('@acme/logger');\n", ...files },
    { branch: 'master' },
  );
  const url = `${fixture.git.baseUrl}/${name}.git`;
  const spec = specFor(url, [{ recipe: 'npm-upgrade', package: '@acme/logger', ...step }], {
    repo: { name, url, ref: 'master' },
    network: 'registry_only',
  });
  return (await runExecuteRun(fixture.deps, spec)).result;
}

async function stepDetail(result: ExecutionResult): Promise<string | undefined> {
  const events = JSON.parse(await readArtifact(fixture, result, 'events.json')) as { kind: string; detail?: string }[];
  return events.find((e) => e.kind === 'step')?.detail;
}

it('keeps an exact pin exact, keeps the tabs, and updates package-lock.json with npm', async () => {
  const result = await upgrade(
    {
      'package.json': packageJson(
        { scripts: { test: 'node -e ""' }, devDependencies: { '@acme/logger': '1.0.0' } },
        '\t',
      ),
      'package-lock.json': lockfileAt1,
    },
    { version: '2.0.0' },
  );

  expect(result).toMatchObject({
    outcome: 'changed',
    touchedFiles: ['package-lock.json', 'package.json'],
    commands: ['npm install --no-audit --no-fund --ignore-scripts'],
  });
  const patch = await readArtifact(fixture, result, 'patch.diff');
  expect(patch).toContain('-\t\t"@acme/logger": "1.0.0"\n+\t\t"@acme/logger": "2.0.0"\n');
  expect(patch).toMatch(/"node_modules\/@acme\/logger": \{\n-\s+"version": "1.0.0",[\s\S]*\+\s+"version": "2.0.0",/);
  expect(await stepDetail(result)).toBe('@acme/logger 2.0.0: devDependencies 1.0.0 → 2.0.0 (npm, package-lock.json)');
});

it("keeps a caret range a caret range, resolving the step's range by installing it, and writes no lockfile where .npmrc says package-lock=false", async () => {
  const result = await upgrade(
    { '.npmrc': 'package-lock=false\n', 'package.json': packageJson({ dependencies: { '@acme/logger': '^1.0.0' } }) },
    { version: '^2.0.0' },
  );

  expect(result).toMatchObject({ outcome: 'changed', touchedFiles: ['package.json'] });
  expect(await readArtifact(fixture, result, 'patch.diff')).toContain(
    '-    "@acme/logger": "^1.0.0"\n+    "@acme/logger": "^2.0.0"\n',
  );
});

it('keeps a tilde range a tilde range when the step names a dist-tag', async () => {
  const result = await upgrade(
    {
      '.npmrc': 'package-lock=false\n',
      'package.json': packageJson({ devDependencies: { '@acme/logger': '~1.0.0' } }),
    },
    { version: 'latest' },
  );

  expect(await readArtifact(fixture, result, 'patch.diff')).toContain(
    '-    "@acme/logger": "~1.0.0"\n+    "@acme/logger": "~2.0.0"\n',
  );
  expect(await stepDetail(result)).toBe('@acme/logger 2.0.0: devDependencies ~1.0.0 → ~2.0.0 (npm, no lockfile)');
});

it('pins a range when the step sets rangeStrategy pin', async () => {
  const result = await upgrade(
    { 'package.json': packageJson({ dependencies: { '@acme/logger': '^1.0.0' } }), 'package-lock.json': lockfileAt1 },
    { version: '2.0.0', rangeStrategy: 'pin' },
  );

  expect(await readArtifact(fixture, result, 'patch.diff')).toContain(
    '-    "@acme/logger": "^1.0.0"\n+    "@acme/logger": "2.0.0"\n',
  );
});

it('changes nothing under rangeStrategy replace when the range already admits the version', async () => {
  const result = await upgrade(
    { 'package.json': packageJson({ dependencies: { '@acme/logger': '>=1.0.0' } }), 'package-lock.json': lockfileAt1 },
    { version: '2.0.0', rangeStrategy: 'replace' },
  );

  expect(result.outcome).toBe('no_changes');
  expect(await stepDetail(result)).toBe(
    '@acme/logger >=1.0.0 already admits 2.0.0, rangeStrategy replace; nothing changed',
  );
});

it('fails as a step, naming the package, when the repository does not depend on it', async () => {
  const result = await upgrade(
    { 'package.json': packageJson({ dependencies: { leftpad: '1.3.0' } }) },
    { version: '2.0.0' },
  );

  expect(result.failure).toEqual({
    kind: 'step',
    message:
      'step "1: npm-upgrade" failed: @acme/logger is not in package.json\'s dependencies, devDependencies, optionalDependencies; npm-upgrade moves a dependency the repository already has',
  });
});

/** pnpm-lock.yaml as pnpm 9 writes it for one devDependency, with the registry's integrity for @acme/logger 1.0.0. */
async function pnpmLockfileAt1(): Promise<string> {
  const integrity = await integrityOf(readStackInfo().registryMirror.url, '@acme/logger', '1.0.0');
  return pnpmLockfile({
    section: 'devDependencies',
    name: '@acme/logger',
    specifier: '~1.0.0',
    version: '1.0.0',
    integrity,
  });
}

it('updates pnpm-lock.yaml with pnpm when the packageManager field names it', async () => {
  const files = {
    'package.json': packageJson({ packageManager: 'pnpm@9.15.9', devDependencies: { '@acme/logger': '~1.0.0' } }),
    'pnpm-lock.yaml': await pnpmLockfileAt1(),
  };
  const result = await upgrade(files, { version: '2.0.0' });

  expect(result).toMatchObject({
    outcome: 'changed',
    touchedFiles: ['package.json', 'pnpm-lock.yaml'],
    commands: ['pnpm install --ignore-scripts --no-frozen-lockfile'],
  });
  const patch = await readArtifact(fixture, result, 'patch.diff');
  expect(patch).toContain('-    "@acme/logger": "~1.0.0"\n+    "@acme/logger": "~2.0.0"\n');
  expect(patch).toContain(
    '-        specifier: ~1.0.0\n-        version: 1.0.0\n+        specifier: ~2.0.0\n+        version: 2.0.0\n',
  );
});

it('updates yarn.lock with yarn when that is the lockfile present', async () => {
  const packument = (await (await fetch(`${readStackInfo().registryMirror.url}@acme%2flogger`)).json()) as {
    versions: Record<string, { dist: { integrity: string; tarball: string; shasum: string } }>;
  };
  const at1 = packument.versions['1.0.0'].dist;
  const yarnLock = [
    '# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.',
    '# yarn lockfile v1',
    '',
    '',
    '"@acme/logger@^1.0.0":',
    '  version "1.0.0"',
    `  resolved "${at1.tarball}#${at1.shasum}"`,
    `  integrity ${at1.integrity}`,
    '',
  ].join('\n');
  const result = await upgrade(
    { 'package.json': packageJson({ dependencies: { '@acme/logger': '^1.0.0' } }), 'yarn.lock': yarnLock },
    { version: '2.0.0' },
  );

  expect(result).toMatchObject({
    outcome: 'changed',
    touchedFiles: ['package.json', 'yarn.lock'],
    commands: ['yarn install --ignore-scripts --non-interactive'],
  });
  const patch = await readArtifact(fixture, result, 'patch.diff');
  expect(patch).toContain('+"@acme/logger@^2.0.0":\n+  version "2.0.0"\n');
});
