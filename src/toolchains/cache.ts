/**
 * The execution host's toolchain cache, outside any sandbox: <root>/<tool>/<version>/, one registry package each,
 * unpacked and checksummed. An install is made in a temporary directory and renamed into place, so two runs
 * installing the same version never see half of one; every use checks the files against the install's manifest
 * (hashing them again whenever any file's stat changed since they were last hashed), and a corrupt or partial
 * install is moved aside and made again.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { runChecked } from '../host/command';
import type { PackageVersion, ToolchainRegistry } from './registry';

/** Written last into an install: the package it came from and every file's size and sha256. */
export const MANIFEST_FILE = '.regatta-toolchain.json';
/** Shims for the package's `bin` entries, so its commands are on PATH whatever the package calls its files. */
export const SHIM_DIR = '.regatta-bin';

interface Manifest {
  package: string;
  version: string;
  integrity: string;
  files: Record<string, { size: number; sha256: string }>;
}

export interface InstalledToolchain {
  dir: string;
  package: string;
  version: string;
  /** Whether this call installed it (false: it was in the cache and intact). */
  installed: boolean;
}

/** Puts a tool's checked files into `unpacked` (empty); `staging` is scratch space beside it, removed afterwards. */
export type ToolchainFill = (unpacked: string, staging: string) => Promise<void>;

export class ToolchainIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolchainIntegrityError';
  }
}

export class ToolchainCache {
  /** Installs this process has under way, so concurrent runs on one worker share one download. */
  private readonly pending = new Map<string, Promise<InstalledToolchain>>();

  constructor(
    readonly root: string,
    readonly registry: ToolchainRegistry,
  ) {}

  dirFor(tool: string, version: string): string {
    return path.join(this.root, tool, version);
  }

  /** `pkg` at `release.version`, from the cache when intact, else downloaded, checked and installed. */
  ensure(tool: string, pkg: string, release: PackageVersion): Promise<InstalledToolchain> {
    return this.ensureFilled(tool, pkg, release, (unpacked, staging) =>
      this.unpackNpmPackage(pkg, release, unpacked, staging),
    );
  }

  /**
   * Like `ensure`, for a tool that is not an npm package: `fill` puts the checked files of `pkg` at `release.version`
   * into an empty directory (`release.integrity` is whatever the tool's source checks it by, e.g. a Go module's h1: sum).
   */
  ensureFilled(tool: string, pkg: string, release: PackageVersion, fill: ToolchainFill): Promise<InstalledToolchain> {
    const key = `${tool}/${release.version}`;
    const running = this.pending.get(key);
    if (running) return running;
    const work = this.ensureOnce(tool, pkg, release, fill).finally(() => this.pending.delete(key));
    this.pending.set(key, work);
    return work;
  }

  private async ensureOnce(
    tool: string,
    pkg: string,
    release: PackageVersion,
    fill: ToolchainFill,
  ): Promise<InstalledToolchain> {
    const dir = this.dirFor(tool, release.version);
    const signature = fs.existsSync(dir) ? statSignature(dir) : undefined;
    // Hashed in full before and not touched since (any write changes a file's ctime): no need to hash it again.
    if (signature && this.readVerified(tool, release) === signature)
      return { dir, package: pkg, version: release.version, installed: false };
    const problem = signature ? verifyInstall(dir, pkg, release.integrity) : 'missing';
    if (problem === undefined) {
      this.writeVerified(tool, release, signature!);
      return { dir, package: pkg, version: release.version, installed: false };
    }
    if (problem !== 'missing') this.moveAside(dir);
    await this.install(tool, pkg, release, dir, fill);
    const after = verifyInstall(dir, pkg, release.integrity);
    if (after !== undefined)
      throw new ToolchainIntegrityError(
        `${pkg}@${release.version} in ${dir} is not intact right after installing it: ${after}`,
      );
    this.writeVerified(tool, release, statSignature(dir));
    return { dir, package: pkg, version: release.version, installed: true };
  }

  private async unpackNpmPackage(
    pkg: string,
    release: PackageVersion,
    unpacked: string,
    staging: string,
  ): Promise<void> {
    const tarball = await this.registry.pack(pkg, release.version, staging);
    const actual = `sha512-${createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;
    if (actual !== release.integrity) {
      throw new ToolchainIntegrityError(
        `the tarball of ${pkg}@${release.version} has integrity ${actual}; the registry lists ${release.integrity}`,
      );
    }
    await runChecked('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1', '--no-same-owner']);
    writeShims(unpacked);
  }

  private async install(
    tool: string,
    pkg: string,
    release: PackageVersion,
    dir: string,
    fill: ToolchainFill,
  ): Promise<void> {
    const staging = path.join(
      this.root,
      '.staging',
      `${tool}-${release.version}-${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    const unpacked = path.join(staging, 'unpacked');
    fs.mkdirSync(unpacked, { recursive: true });
    try {
      await fill(unpacked, staging);
      // The sandbox user is not the owner: everything readable, directories and executables enterable by anyone.
      await runChecked('chmod', ['-R', 'a+rX,u+w,go-w', unpacked]);
      writeManifest(unpacked, { package: pkg, version: release.version, integrity: release.integrity, files: {} });
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      try {
        fs.renameSync(unpacked, dir);
      } catch (err) {
        // Another run installed the same version first; theirs is as good as ours (it is checked next).
        if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      }
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }

  /** Where the stat signature of an install last hashed in full is kept: beside the installs, never inside one. */
  private verifiedFile(tool: string, release: PackageVersion): string {
    return path.join(
      this.root,
      '.verified',
      `${tool}-${release.version}-${createHash('sha256').update(release.integrity).digest('hex').slice(0, 16)}`,
    );
  }

  private readVerified(tool: string, release: PackageVersion): string | undefined {
    try {
      return fs.readFileSync(this.verifiedFile(tool, release), 'utf8');
    } catch {
      return undefined;
    }
  }

  private writeVerified(tool: string, release: PackageVersion, signature: string): void {
    const file = this.verifiedFile(tool, release);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    fs.writeFileSync(temp, signature);
    fs.renameSync(temp, file);
  }

  /** A corrupt install leaves by rename (sandboxes still using it keep their mount), then goes. */
  private moveAside(dir: string): void {
    const trash = path.join(
      this.root,
      '.staging',
      `corrupt-${path.basename(path.dirname(dir))}-${path.basename(dir)}-${randomBytes(4).toString('hex')}`,
    );
    fs.mkdirSync(path.dirname(trash), { recursive: true });
    try {
      fs.renameSync(dir, trash);
    } catch (err) {
      // Another run moved it first.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return;
    }
    fs.rmSync(trash, { recursive: true, force: true });
  }
}

function filesUnder(dir: string, prefix = ''): string[] {
  return fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(prefix, entry.name);
    if (entry.isDirectory()) return filesUnder(dir, relative);
    return relative === MANIFEST_FILE ? [] : [relative];
  });
}

/** Every file's path, size, inode, mtime and ctime: any write, replacement, removal or chmod changes it. */
function statSignature(dir: string): string {
  const hash = createHash('sha256');
  for (const file of [MANIFEST_FILE, ...filesUnder(dir)]) {
    const stat = fs.lstatSync(path.join(dir, file), { throwIfNoEntry: false });
    hash.update(`${file}:${stat ? `${stat.size}:${stat.ino}:${stat.mtimeMs}:${stat.ctimeMs}` : 'missing'}\n`);
  }
  return hash.digest('hex');
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function writeManifest(dir: string, manifest: Manifest): void {
  for (const file of filesUnder(dir)) {
    const full = path.join(dir, file);
    const stat = fs.lstatSync(full);
    // A symlink is recorded by its target's text, so a changed link shows up too.
    manifest.files[file] = stat.isSymbolicLink()
      ? { size: 0, sha256: createHash('sha256').update(fs.readlinkSync(full)).digest('hex') }
      : { size: stat.size, sha256: sha256(full) };
  }
  fs.writeFileSync(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest));
  fs.chmodSync(path.join(dir, MANIFEST_FILE), 0o644);
}

/** What is wrong with an install, or undefined when every file is the one its manifest lists. */
export function verifyInstall(dir: string, pkg: string, integrity: string): string | undefined {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
  } catch {
    return `${MANIFEST_FILE} is missing or unreadable (an install that did not finish)`;
  }
  if (manifest.package !== pkg || manifest.integrity !== integrity)
    return `it holds ${manifest.package} with integrity ${manifest.integrity}, not ${pkg} with ${integrity}`;
  const present = new Set(filesUnder(dir));
  for (const [file, expected] of Object.entries(manifest.files)) {
    if (!present.delete(file)) return `${file} is missing`;
    const full = path.join(dir, file);
    const stat = fs.lstatSync(full);
    const actual = stat.isSymbolicLink()
      ? createHash('sha256').update(fs.readlinkSync(full)).digest('hex')
      : stat.size !== expected.size
        ? undefined
        : sha256(full);
    if (actual !== expected.sha256)
      return `${file} differs from the installed file (size ${stat.size}, expected ${expected.size} bytes with sha256 ${expected.sha256.slice(0, 12)}…)`;
  }
  if (present.size > 0) return `files that were not installed appeared: ${[...present].slice(0, 3).join(', ')}`;
  return undefined;
}

/** One `#!/bin/sh` shim per `bin` entry, running the file with node (a script) or sh (pnpm's shebang-less launcher). */
function writeShims(dir: string): void {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    name: string;
    bin?: string | Record<string, string>;
  };
  const bins = typeof pkg.bin === 'string' ? { [pkg.name.split('/').pop()!]: pkg.bin } : (pkg.bin ?? {});
  const shimDir = path.join(dir, SHIM_DIR);
  fs.mkdirSync(shimDir, { recursive: true, mode: 0o755 });
  for (const [name, target] of Object.entries(bins)) {
    const file = path.join(dir, target);
    if (!fs.existsSync(file) || name === 'node') continue;
    const head = fs.readFileSync(file).subarray(0, 128).toString('utf8');
    const interpreter =
      /\.(c|m)?js$/.test(target) || /^#!.*\bnode\b/.test(head) ? 'node' : head.startsWith('\x7fELF') ? '' : 'sh';
    const run = interpreter
      ? `exec ${interpreter} "$here/../${path.normalize(target)}" "$@"`
      : `exec "$here/../${path.normalize(target)}" "$@"`;
    fs.writeFileSync(path.join(shimDir, name), `#!/bin/sh\nhere=$(dirname "$0")\n${run}\n`, { mode: 0o755 });
  }
}
