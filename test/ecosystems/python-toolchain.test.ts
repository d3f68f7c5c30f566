/**
 * The Python a repository runs with: `.python-version`, else pyproject's `requires-python`, chosen among the host's
 * Pythons (Debian's first), recorded with where the request came from; an installation other than Debian's is mounted
 * read-only from the toolchain cache and runs in the real sandbox image; a request no host Python meets is refused.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import {
  choosePython,
  hostPythons,
  PythonToolchainError,
  requestedPython,
} from '../../src/ecosystems/python/interpreters';
import { preparePythonToolchain } from '../../src/ecosystems/python/toolchain';
import { ToolchainCache } from '../../src/toolchains/cache';
import { ToolchainRegistry } from '../../src/toolchains/registry';

const debian = { version: '3.11.2', origin: 'debian' as const };
const py312 = { version: '3.12.1', dir: '/pythons/3.12.1', origin: 'installation' as const };
const py313 = { version: '3.13.0', dir: '/pythons/3.13.0', origin: 'installation' as const };
const host = [debian, py312, py313];

describe('the Python a repository asks for', () => {
  it('reads .python-version first, then requires-python in [project]', () => {
    const pyproject = '[project]\nname = "x"\nrequires-python = ">=3.12"\n\n[tool.other]\nrequires-python = "no"\n';
    expect(requestedPython('# pinned\n3.12\n', pyproject)).toEqual({ source: '.python-version', declared: '3.12' });
    expect(requestedPython(undefined, pyproject)).toEqual({
      source: 'pyproject.toml requires-python',
      declared: '>=3.12',
    });
    expect(requestedPython(undefined, '[tool.x]\nrequires-python = ">=3.12"\n')).toBeUndefined();
  });

  it.each([
    ['.python-version', '3.12', '3.12.1'],
    ['.python-version', 'cpython-3.13.0', '3.13.0'],
    ['.python-version', '3.11', '3.11.2'],
    ['pyproject.toml requires-python', '>=3.10', '3.11.2'],
    ['pyproject.toml requires-python', '>=3.12', '3.13.0'],
    ['pyproject.toml requires-python', '>=3.10,<3.13,!=3.11.*', '3.12.1'],
    ['pyproject.toml requires-python', '~=3.12.0', '3.12.1'],
  ] as const)('%s "%s" is met by Python %s (Debian’s when it can, else the newest)', (source, declared, version) => {
    expect(choosePython({ source, declared }, host).version).toBe(version);
  });

  it('is Debian’s python3 when the repository says nothing', () => {
    expect(choosePython(undefined, host)).toBe(debian);
  });

  it('is refused when no host Python meets it, naming what was asked and what there is', () => {
    const ask = () => choosePython({ source: '.python-version', declared: '3.14' }, host);
    expect(ask).toThrow(PythonToolchainError);
    expect(ask).toThrow(
      '.python-version asks for Python "3.14"; this host has Python 3.11.2, 3.12.1, 3.13.0 (uv cannot download one here',
    );
    expect(() => choosePython({ source: '.python-version', declared: 'pypy3.10' }, host)).toThrow(
      '.python-version says "pypy3.10"; expected a CPython version such as 3.12 or 3.12.1',
    );
  });
});

describe("a repository's Python in the sandbox", () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-python-toolchain-'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  function repoWith(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(root, 'repo-'));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
  }

  it('mounts a host installation other than Debian’s read-only, records it, and it runs in the sandbox image', async () => {
    const minorOf = (version: string) => version.split('.').slice(0, 2).join('.');
    const debianMinor = minorOf(hostPythons().find((p) => p.origin === 'debian')!.version);
    const other = hostPythons().find((p) => p.origin === 'installation' && minorOf(p.version) !== debianMinor);
    // This machine has pyenv's Pythons beside Debian's.
    expect(other).toBeDefined();
    const minor = minorOf(other!.version);
    const cache = new ToolchainCache(path.join(root, 'cache'), new ToolchainRegistry(path.join(root, 'cache', '.m')));
    const repo = repoWith({ '.python-version': `${minor}\n`, 'requirements.txt': 'semver==3.0.4\n' });
    const toolchain = (await preparePythonToolchain(repo, cache))!;
    expect(toolchain.tools[0]).toEqual({
      name: 'python',
      version: hostPythons()
        .filter((p) => p.version.startsWith(`${minor}.`))
        .map((p) => p.version)
        .sort()
        .at(-1),
      source: '.python-version',
      declared: minor,
    });
    const mounts = toolchain.mounts.flatMap((m) => ['-v', `${m.hostPath}:${m.containerPath}:ro`]);
    const env = Object.entries({ ...toolchain.env, PATH: [...toolchain.path, '/usr/bin:/bin'].join(':') }).flatMap(
      ([k, v]) => ['-e', `${k}=${v}`],
    );
    const printed = execFileSync(
      'docker',
      [
        'run',
        '--rm',
        '--read-only',
        '--tmpfs',
        '/tmp',
        '--user',
        '1000:1000',
        '--network',
        'none',
        ...mounts,
        ...env,
        loadConfig().sandboxImage,
        'sh',
        '-c',
        [
          'python3 -c "import ssl, sqlite3, platform; print(platform.python_version())"',
          'uv venv --quiet /tmp/venv',
          '/tmp/venv/bin/python -c "import sys; print(sys.base_prefix)"',
        ].join(' && '),
      ],
      { encoding: 'utf8' },
    );
    // uv made the venv on the mounted interpreter, not the image's own python3.
    expect(printed.trim().split('\n')).toEqual([toolchain.tools[0].version, '/opt/regatta/toolchain/python']);
  }, 300_000);

  it('uses Debian’s python3 of the image, with no mount, when it meets requires-python', async () => {
    const cache = new ToolchainCache(path.join(root, 'cache'), new ToolchainRegistry(path.join(root, 'cache', '.m')));
    const repo = repoWith({
      'pyproject.toml': '[project]\nname = "svc"\nrequires-python = ">=3.9"\ndependencies = []\n',
    });
    const toolchain = (await preparePythonToolchain(repo, cache))!;
    expect(toolchain.tools[0]).toMatchObject({
      name: 'python',
      source: 'pyproject.toml requires-python',
      declared: '>=3.9',
    });
    expect(toolchain.mounts.map((m) => m.containerPath)).toEqual(['/opt/regatta/toolchain/uv']);
  }, 120_000);
});
