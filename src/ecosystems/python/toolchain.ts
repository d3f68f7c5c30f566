/**
 * uv for a Python repository's sandbox: the `uv` wheel from the host's index (pip downloads it and checks it against
 * the index's hash), its static binary copied into the host's toolchain cache with a manifest like Node.js, mounted
 * read-only. Python is the one the repository asks for among the host's (./interpreters.ts): Debian's is the sandbox
 * image's own python3; another installation is copied into the cache and mounted read-only, and uv is told to use it
 * (UV_PYTHON) and never to download one.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { runChecked } from '../../host/command';
import type { ToolchainCache } from '../../toolchains/cache';
import type { EcosystemToolchain } from '../types';
import { choosePython, hostPythons, requestedPython, type HostPython } from './interpreters';
import { REQUIREMENTS_FILE } from './upgrade';

/** The uv release sandboxes get (REGATTA_UV_VERSION overrides it). */
export const UV_VERSION = '0.13.8';
const WHEEL_PLATFORM = 'manylinux_2_17_x86_64';
const MOUNT = '/opt/regatta/toolchain/uv';
const PYTHON_MOUNT = '/opt/regatta/toolchain/python';

export function usesPython(repoDir: string): boolean {
  const isFile = (name: string) => fs.lstatSync(path.join(repoDir, name), { throwIfNoEntry: false })?.isFile() ?? false;
  return (
    isFile('pyproject.toml') || fs.readdirSync(repoDir).some((name) => REQUIREMENTS_FILE.test(name) && isFile(name))
  );
}

async function unpackUvWheel(version: string, unpacked: string, staging: string): Promise<void> {
  const download = path.join(staging, 'download');
  await runChecked('python3', [
    '-m',
    'pip',
    'download',
    `uv==${version}`,
    '--no-deps',
    '--only-binary=:all:',
    '--platform',
    WHEEL_PLATFORM,
    '--dest',
    download,
  ]);
  const wheel = fs.readdirSync(download).find((f) => f.endsWith('.whl'));
  if (!wheel) throw new Error(`pip downloaded no wheel of uv ${version} for ${WHEEL_PLATFORM}`);
  const extracted = path.join(staging, 'wheel');
  await runChecked('python3', ['-m', 'zipfile', '-e', path.join(download, wheel), extracted]);
  const scripts = path.join(extracted, `uv-${version}.data`, 'scripts');
  fs.mkdirSync(path.join(unpacked, 'bin'));
  for (const tool of ['uv', 'uvx']) {
    if (!fs.existsSync(path.join(scripts, tool))) continue;
    fs.copyFileSync(path.join(scripts, tool), path.join(unpacked, 'bin', tool));
    fs.chmodSync(path.join(unpacked, 'bin', tool), 0o755);
  }
}

/** A file of the repository as data: never through a link the repository planted. */
function repositoryFile(repoDir: string, name: string): string | undefined {
  const file = path.join(repoDir, name);
  return fs.lstatSync(file, { throwIfNoEntry: false })?.isFile() ? fs.readFileSync(file, 'utf8') : undefined;
}

/** A host installation of Python in the toolchain cache, identified by its interpreter's bytes. */
async function cachedPython(python: Required<HostPython>, cache: ToolchainCache) {
  const binary = fs.realpathSync(path.join(python.dir, 'bin', 'python3'));
  const integrity = `installation-sha256:${createHash('sha256').update(fs.readFileSync(binary)).digest('hex')}`;
  return cache.ensureFilled('python', `cpython-${python.version}`, { version: python.version, integrity }, (unpacked) =>
    // Links kept as written (bin/python3 → python3.12), so they resolve inside the mount.
    Promise.resolve(fs.cpSync(python.dir, unpacked, { recursive: true, verbatimSymlinks: true })),
  );
}

export async function preparePythonToolchain(
  repoDir: string,
  cache: ToolchainCache,
): Promise<EcosystemToolchain | undefined> {
  if (!usesPython(repoDir)) return undefined;
  const request = requestedPython(
    repositoryFile(repoDir, '.python-version'),
    repositoryFile(repoDir, 'pyproject.toml'),
  );
  const python = choosePython(request, hostPythons());
  const version = process.env.REGATTA_UV_VERSION ?? UV_VERSION;
  const install = await cache.ensureFilled(
    'uv',
    'uv',
    // Checked by pip against the index's hash when it is downloaded; the manifest keeps every file's sha256 after.
    { version, integrity: `pypi:uv==${version}:${WHEEL_PLATFORM}` },
    (unpacked, staging) => unpackUvWheel(version, unpacked, staging),
  );
  const mounted = python.dir ? await cachedPython(python as Required<HostPython>, cache) : undefined;
  return {
    tools: [
      {
        name: 'python',
        version: python.version,
        source: request?.source ?? 'host',
        ...(request ? { declared: request.declared } : {}),
      },
      { name: 'uv', version, source: 'default' },
    ],
    mounts: [
      { hostPath: install.dir, containerPath: MOUNT },
      ...(mounted ? [{ hostPath: mounted.dir, containerPath: PYTHON_MOUNT }] : []),
    ],
    path: [`${MOUNT}/bin`, ...(mounted ? [`${PYTHON_MOUNT}/bin`] : [])],
    env: {
      UV_CACHE_DIR: '/tmp/uv-cache',
      UV_PYTHON_DOWNLOADS: 'never',
      UV_PYTHON_PREFERENCE: 'only-system',
      UV_LINK_MODE: 'copy',
      UV_NO_PROGRESS: '1',
      UV_PYTHON: mounted ? `${PYTHON_MOUNT}/bin/python3` : '/usr/bin/python3',
      // An installation built with a shared libpython names its build directory as the library's path.
      ...(mounted ? { LD_LIBRARY_PATH: `${PYTHON_MOUNT}/lib` } : {}),
    },
  };
}
