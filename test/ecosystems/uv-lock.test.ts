/**
 * A uv.lock made through a mirror (as a sandbox makes it, through its registry route) gets the repository's own
 * addresses back: the lock that results is the one uv makes against the host's index itself, file for file, and a
 * file the index does not list with the locked hash is refused. Real uv (from the toolchain cache), the stack's
 * proxpi mirror and the host's index.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pythonMirrorUrl } from '../../src/dev/python-mirror';
import { hostPythonIndex } from '../../src/ecosystems/python/registry';
import { preparePythonToolchain } from '../../src/ecosystems/python/toolchain';
import {
  indexFilesFrom,
  lockedVersion,
  lockRegistry,
  LockAddressError,
  pointLockAt,
  restoreLockAddresses,
} from '../../src/ecosystems/python/uv-lock';
import { toolchainsFromEnv } from '../../src/toolchains';
import { readStackInfo } from '../support/stack';

const PYPROJECT = [
  '[project]',
  'name = "pricing"',
  'version = "1.0.0"',
  'requires-python = ">=3.11"',
  'dependencies = ["semver>=3.0.4,<4", "packaging==24.1"]',
  '',
].join('\n');

let scratch: string;
let uv: string;
const mirror = readStackInfo().pythonMirror?.url ?? pythonMirrorUrl();
const index = hostPythonIndex()!;

/** uv lock of PYPROJECT against `indexUrl`, with `upgrade` arguments; returns the lock. */
function lockAgainst(indexUrl: string, dir: string, upgrade: string[] = []): string {
  execFileSync(uv, ['lock', ...upgrade], {
    cwd: dir,
    env: {
      ...process.env,
      UV_DEFAULT_INDEX: indexUrl,
      UV_PYTHON: '/usr/bin/python3',
      UV_PYTHON_DOWNLOADS: 'never',
      UV_CACHE_DIR: path.join(scratch, 'uv-cache'),
      UV_NO_PROGRESS: '1',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return fs.readFileSync(path.join(dir, 'uv.lock'), 'utf8');
}

function project(name: string): string {
  const dir = path.join(scratch, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'pyproject.toml'), PYPROJECT);
  return dir;
}

/** What a lock says apart from fields a mirror may leave out (sizes and upload times). */
const essentials = (lock: string) => lock.replace(/, size = \d+/g, '').replace(/, upload-time = "[^"]*"/g, '');

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-uv-lock-'));
  const toolchain = await preparePythonToolchain(project('toolchain'), toolchainsFromEnv().cache);
  uv = path.join(toolchain!.mounts[0].hostPath, 'bin', 'uv');
}, 300_000);
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

it('puts back the registry and every file address uv wrote from the mirror, so the lock is the host index’s own', async () => {
  const direct = lockAgainst(index, project('direct'));
  const throughMirror = lockAgainst(mirror, project('mirror'));
  expect(throughMirror).toContain(`registry = "${mirror}`);

  const restored = await restoreLockAddresses(throughMirror, mirror, lockRegistry(direct)!, indexFilesFrom(index));
  expect(restored).not.toContain(mirror);
  expect(essentials(restored)).toBe(essentials(direct));
}, 300_000);

it('upgrades one package through the mirror and keeps every other entry and address of the repository’s lock', async () => {
  const dir = project('upgrade');
  fs.writeFileSync(path.join(dir, 'pyproject.toml'), PYPROJECT.replace('semver>=3.0.4,<4', 'semver>=3.0.0,<4'));
  const before = lockAgainst(index, dir, ['--upgrade-package', 'semver==3.0.0']);
  expect(lockedVersion(before, 'semver')).toBe('3.0.0');
  const registry = lockRegistry(before)!;

  // What the recipe does in the sandbox: point the lock at the route, lock, then put the addresses back.
  fs.writeFileSync(path.join(dir, 'uv.lock'), pointLockAt(before, registry, mirror));
  const locked = lockAgainst(mirror, dir, ['--upgrade-package', 'semver==3.0.4']);
  const after = await restoreLockAddresses(locked, mirror, registry, indexFilesFrom(index));

  expect(lockedVersion(after, 'semver')).toBe('3.0.4');
  expect(after).not.toContain(mirror);
  const packagingOf = (lock: string) =>
    /\[\[package\]\]\nname = "packaging"[\s\S]*?(?=\n\[\[package\]\]|$)/.exec(lock)?.[0];
  expect(essentials(packagingOf(after)!)).toBe(essentials(packagingOf(before)!));
}, 300_000);

it('refuses a file the host index does not list with the hash uv locked', async () => {
  const throughMirror = lockAgainst(mirror, project('tampered'));
  const hash = /hash = "sha256:([0-9a-f]+)"/.exec(throughMirror)![1];
  const tampered = throughMirror.replace(hash, '0'.repeat(64));
  await expect(restoreLockAddresses(tampered, mirror, index, indexFilesFrom(index))).rejects.toThrow(LockAddressError);
  await expect(restoreLockAddresses(tampered, mirror, index, indexFilesFrom(index))).rejects.toThrow(
    `is not listed with that hash by the host's index`,
  );
}, 300_000);
