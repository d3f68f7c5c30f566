/**
 * Each repository runs on the Node.js it declares: three services declaring 20 (`.nvmrc`), 22 (`engines.node`) and
 * 24 (only the campaign spec asks), each verified in a real sandbox on network `none`, so the toolchain can only have
 * come from the host's cache, installed there from the host's registry.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionResult, StepEvent } from '../../src/contracts';
import { createRepo } from '../../src/dev/fleet';
import { startGitServer, type GitServer } from '../../src/dev/git-server';
import {
  command,
  readArtifact,
  runExecuteRun,
  specFor,
  startExecutionFixture,
  type ExecutionFixture,
} from '../execution/fixture';
import { HASHER_FILES } from '../support/native-addon';

function service(
  name: string,
  packageFields: Record<string, unknown>,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    '.gitignore': 'node_modules/\n',
    'README.md': `# ${name}\n\nRun the tests with \`npm test\`.\n`,
    'package.json': `${JSON.stringify({ name: `@acme/${name}`, version: '1.3.0', private: true, main: 'src/index.js', scripts: { test: 'node test.js' }, ...packageFields }, null, 2)}\n`,
    'src/index.js': 'exports.runtime = () => `node ${process.versions.node}`;\n',
    'test.js': [
      "const assert = require('node:assert');",
      "const { runtime } = require('./src');",
      'assert.match(runtime(), /^node \\d+\\.\\d+\\.\\d+$/);',
      "console.log('ok', runtime());",
      '',
    ].join('\n'),
    ...extra,
  };
}

const SERVICES = [
  { repo: 'acme/ledger', files: service('ledger', {}, { '.nvmrc': '20\n' }), major: 20, source: '.nvmrc' },
  {
    repo: 'acme/billing',
    files: service('billing', { engines: { node: '^22.12' } }),
    major: 22,
    source: 'engines.node',
  },
  {
    repo: 'acme/catalog',
    files: service('catalog', { engines: { node: '>=18' } }),
    major: 24,
    source: 'spec',
    spec: { node: '24' },
  },
];

let fixture: ExecutionFixture;
let git: GitServer;
let root: string;

beforeAll(async () => {
  fixture = await startExecutionFixture();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-toolchain-fleet-'));
  for (const s of SERVICES) await createRepo(root, s.repo, s.files);
  git = await startGitServer({ root });
});

afterAll(async () => {
  await git?.close();
  await fixture?.close();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('a run gets the Node.js its repository or its campaign declares', () => {
  it.each(SERVICES)(
    '$repo runs Node.js $major ($source), from the host cache, with no network',
    async ({ repo, major, source, spec: toolchain }) => {
      const spec = specFor(`${git.baseUrl}/${repo}.git`, [command('true', 'nothing to change')], {
        repo: { name: repo, url: `${git.baseUrl}/${repo}.git`, ref: 'main' },
        verify: { commands: ['node --version', 'npm --version', 'npm test'] },
        limits: {
          runTimeoutMs: 600_000,
          commandTimeoutMs: 60_000,
          maxOutputBytes: 64 * 1024,
          memoryBytes: 512 * 1024 * 1024,
          nanoCpus: 1_000_000_000,
          pids: 128,
        },
        ...(toolchain ? { toolchain } : {}),
      });
      const { result } = await runExecuteRun(fixture.deps, spec);

      expect(result.failure).toBeUndefined();
      const [nodeVersion, npmVersion, npmTest] = result.verification.commands;
      expect(nodeVersion).toMatchObject({
        command: 'node --version',
        exitCode: 0,
        output: expect.stringMatching(new RegExp(`^v${major}\\.\\d+\\.\\d+\\n$`)),
      });
      expect(npmTest).toMatchObject({
        exitCode: 0,
        output: expect.stringContaining(`ok node ${nodeVersion.output.trim().slice(1)}`),
      });
      expect(result.toolchain).toEqual([
        { name: 'node', version: nodeVersion.output.trim().slice(1), source, declared: expect.any(String) },
        { name: 'npm', version: npmVersion.output.trim(), source: 'default' },
      ]);
      const events = JSON.parse(await readArtifact(fixture, result, 'events.json')) as StepEvent[];
      expect(events.find((e) => e.kind === 'toolchain')).toMatchObject({
        allowed: true,
        detail: expect.stringContaining(`node ${nodeVersion.output.trim().slice(1)} (${source}`),
      });
    },
  );

  it("builds a native addon with node-gyp against the run's own Node.js headers, offline", async () => {
    await createRepo(root, 'acme/hasher', {
      ...service('hasher', { engines: { node: '>=22' }, main: 'index.js' }),
      ...HASHER_FILES,
    });
    const url = `${git.baseUrl}/acme/hasher.git`;
    const spec = specFor(url, [command('true')], {
      repo: { name: 'acme/hasher', url, ref: 'main' },
      verify: { commands: ['npm install --no-audit --no-fund', 'npm test'] },
      limits: {
        runTimeoutMs: 600_000,
        commandTimeoutMs: 240_000,
        maxOutputBytes: 64 * 1024,
        memoryBytes: 1024 * 1024 * 1024,
        nanoCpus: 1_000_000_000,
        pids: 256,
      },
    });
    const { result } = await runExecuteRun(fixture.deps, spec);
    const [install, test] = result.verification.commands;
    expect(install).toMatchObject({ exitCode: 0, output: expect.stringContaining('gyp info ok') });
    expect(install.output).not.toMatch(/gyp http GET|Downloading/);
    expect(test).toMatchObject({ exitCode: 0, output: expect.stringContaining('fnv1a native ok') });
  });

  it('provides pnpm at the version packageManager pins, with npm beside it', async () => {
    await createRepo(root, 'acme/inventory', {
      ...service('inventory', { packageManager: 'pnpm@9.15.0' }),
      'pnpm-lock.yaml':
        "lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n  excludeLinksFromLockfile: false\n\nimporters:\n\n  .: {}\n",
    });
    const url = `${git.baseUrl}/acme/inventory.git`;
    const spec = specFor(url, [command('true')], {
      repo: { name: 'acme/inventory', url, ref: 'main' },
      verify: { commands: ['pnpm --version', 'pnpm install --offline --frozen-lockfile', 'pnpm test'] },
    });
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result.verification.commands.map((c) => [c.command, c.exitCode])).toEqual([
      ['pnpm --version', 0],
      ['pnpm install --offline --frozen-lockfile', 0],
      ['pnpm test', 0],
    ]);
    expect(result.verification.commands[0].output.trim()).toBe('9.15.0');
    expect(result.toolchain?.map((t) => [t.name, t.source])).toEqual([
      ['node', 'default'],
      ['pnpm', 'packageManager'],
      ['npm', 'default'],
    ]);
  });

  it('fails a repository whose declaration no build satisfies as a step failure, saying what it declared', async () => {
    await createRepo(root, 'acme/legacy', service('legacy', { engines: { node: '>=99' } }));
    const spec = specFor(`${git.baseUrl}/acme/legacy.git`, [command('true')], {
      repo: { name: 'acme/legacy', url: `${git.baseUrl}/acme/legacy.git`, ref: 'main' },
      verify: { commands: ['node --version'] },
    });
    const { result }: { result: ExecutionResult } = await runExecuteRun(fixture.deps, spec);
    expect(result).toMatchObject({
      outcome: 'failed',
      failure: { kind: 'step', message: expect.stringContaining('no Node.js build in the registry satisfies ">=99"') },
    });
    expect(result.verification.commands).toEqual([]);
  });
});
