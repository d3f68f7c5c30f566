/**
 * uv for a Python repository's sandbox: the `uv` wheel from the host's index (pip downloads it and checks it against
 * the index's hash), its static binary copied into the host's toolchain cache with a manifest like Node.js, mounted
 * read-only. Python itself is the sandbox image's python3 (Debian's): uv is told to use it and never to download one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runChecked } from '../../host/command';
import type { ToolchainCache } from '../../toolchains/cache';
import type { EcosystemToolchain } from '../types';
import { REQUIREMENTS_FILE } from './upgrade';

/** The uv release sandboxes get (REGATTA_UV_VERSION overrides it). */
export const UV_VERSION = '0.13.8';
const WHEEL_PLATFORM = 'manylinux_2_17_x86_64';
const MOUNT = '/opt/regatta/toolchain/uv';

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

export async function preparePythonToolchain(
  repoDir: string,
  cache: ToolchainCache,
): Promise<EcosystemToolchain | undefined> {
  if (!usesPython(repoDir)) return undefined;
  const version = process.env.REGATTA_UV_VERSION ?? UV_VERSION;
  const install = await cache.ensureFilled(
    'uv',
    'uv',
    // Checked by pip against the index's hash when it is downloaded; the manifest keeps every file's sha256 after.
    { version, integrity: `pypi:uv==${version}:${WHEEL_PLATFORM}` },
    (unpacked, staging) => unpackUvWheel(version, unpacked, staging),
  );
  return {
    tools: [{ name: 'uv', version, source: 'default' }],
    mounts: [{ hostPath: install.dir, containerPath: MOUNT }],
    path: [`${MOUNT}/bin`],
    env: {
      UV_CACHE_DIR: '/tmp/uv-cache',
      UV_PYTHON_DOWNLOADS: 'never',
      UV_PYTHON_PREFERENCE: 'only-system',
      UV_LINK_MODE: 'copy',
      UV_NO_PROGRESS: '1',
    },
  };
}
