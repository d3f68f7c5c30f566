/**
 * What a cloned repository declares about its toolchain, read on the host as data (nothing in it runs): the Node.js
 * version (`.nvmrc`, `.node-version`, `.tool-versions`, `volta.node`, `engines.node`) and the package manager
 * (`packageManager`, else the lockfile). Only regular files at the root are read, never through a symlink.
 */
import fs from 'node:fs';
import path from 'node:path';
import { splitLines } from '../text/lines';

/** Where a version came from, as evidence and the change request name it. */
export type ToolchainSource =
  | 'spec'
  | '.nvmrc'
  | '.node-version'
  | '.tool-versions'
  | 'volta.node'
  | 'engines.node'
  | 'packageManager'
  | `volta.${PackageManagerName}`
  | `engines.${PackageManagerName}`
  | 'package-lock.json'
  | 'npm-shrinkwrap.json'
  | 'pnpm-lock.yaml'
  | 'yarn.lock'
  | 'default';

export type PackageManagerName = 'npm' | 'pnpm' | 'yarn';

export interface Declared {
  value: string;
  source: ToolchainSource;
}

export interface DeclaredPackageManager {
  name: PackageManagerName;
  /** An exact version (`packageManager`, `volta.<name>`), or undefined for "a current one". */
  version?: string;
  /** A range the current one must satisfy (`engines.<name>`). */
  range?: string;
  source: ToolchainSource;
  /** yarn.lock in Yarn 2+'s format (`__metadata`), which Yarn 1 cannot read. */
  berry?: boolean;
}

export interface RepositoryToolchain {
  node?: Declared;
  packageManager: DeclaredPackageManager;
}

/** Version files are a line; a package.json beyond this is not one anyone writes by hand. */
const MAX_READ_BYTES = 1024 * 1024;

/** A regular file at the repository root, or undefined (missing, a symlink, a directory, too large). */
function readRootFile(repoDir: string, name: string): string | undefined {
  const file = path.join(repoDir, name);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return undefined;
  }
  if (!stat.isFile() || stat.size > MAX_READ_BYTES) return undefined;
  return fs.readFileSync(file, 'utf8');
}

/** The first line that is not blank or a comment, as nvm and nodenv read their files. */
function firstValue(text: string | undefined): string | undefined {
  return splitLines(text ?? '')
    .map((line) => line.replace(/#.*/, '').trim())
    .find((line) => line.length > 0);
}

/** asdf/mise's `.tool-versions`: `nodejs 20.11.1` (or `node`); the first version listed is the preferred one. */
function toolVersionsNode(text: string | undefined): string | undefined {
  for (const line of splitLines(text ?? '')) {
    const [tool, version] = line.replace(/#.*/, '').trim().split(/\s+/);
    if ((tool === 'nodejs' || tool === 'node') && version) return version;
  }
  return undefined;
}

function packageJson(repoDir: string): Record<string, unknown> {
  const text = readRootFile(repoDir, 'package.json');
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    // A package.json npm cannot parse fails the run's install with npm's own message; here it declares nothing.
    return {};
  }
}

function stringAt(object: Record<string, unknown>, key: string, field: string): string | undefined {
  const parent = object[key];
  if (!parent || typeof parent !== 'object') return undefined;
  const value = (parent as Record<string, unknown>)[field];
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

function declaredNode(repoDir: string, pkg: Record<string, unknown>): Declared | undefined {
  const candidates: [ToolchainSource, string | undefined][] = [
    ['.nvmrc', firstValue(readRootFile(repoDir, '.nvmrc'))],
    ['.node-version', firstValue(readRootFile(repoDir, '.node-version'))],
    ['.tool-versions', toolVersionsNode(readRootFile(repoDir, '.tool-versions'))],
    ['volta.node', stringAt(pkg, 'volta', 'node')],
    ['engines.node', stringAt(pkg, 'engines', 'node')],
  ];
  const found = candidates.find(([, value]) => value !== undefined);
  return found ? { source: found[0], value: found[1]! } : undefined;
}

/** `pnpm@9.15.0+sha512.…` → pnpm 9.15.0; corepack's hash suffix is dropped (the registry's integrity is checked instead). */
function parsePackageManagerField(field: string): { name: PackageManagerName; version: string } | undefined {
  const match = /^(npm|pnpm|yarn)@(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?:\+.*)?$/.exec(field.trim());
  return match ? { name: match[1] as PackageManagerName, version: match[2] } : undefined;
}

/** The manager the repository uses, then the version its `volta` pin or `engines` range asks of that manager. */
function declaredPackageManager(repoDir: string, pkg: Record<string, unknown>): DeclaredPackageManager {
  const manager = packageManagerByName(repoDir, pkg);
  if (manager.version) return manager;
  const pinned = stringAt(pkg, 'volta', manager.name);
  if (pinned && /^\d+\.\d+\.\d+$/.test(pinned)) return { ...manager, version: pinned, source: `volta.${manager.name}` };
  const range = stringAt(pkg, 'engines', manager.name);
  return range ? { ...manager, range, source: `engines.${manager.name}` } : manager;
}

function packageManagerByName(repoDir: string, pkg: Record<string, unknown>): DeclaredPackageManager {
  const field = typeof pkg.packageManager === 'string' ? parsePackageManagerField(pkg.packageManager) : undefined;
  const yarnLock = readRootFile(repoDir, 'yarn.lock');
  const berry = yarnLock !== undefined && /^__metadata:/m.test(yarnLock);
  if (field)
    return {
      ...field,
      source: 'packageManager',
      ...(field.name === 'yarn' ? { berry: !field.version.startsWith('1.') } : {}),
    };
  if (readRootFile(repoDir, 'pnpm-lock.yaml') !== undefined) return { name: 'pnpm', source: 'pnpm-lock.yaml' };
  if (yarnLock !== undefined) return { name: 'yarn', source: 'yarn.lock', berry };
  for (const lockfile of ['package-lock.json', 'npm-shrinkwrap.json'] as const) {
    if (readRootFile(repoDir, lockfile) !== undefined) return { name: 'npm', source: lockfile };
  }
  return { name: 'npm', source: 'default' };
}

export function readRepositoryToolchain(repoDir: string): RepositoryToolchain {
  const pkg = packageJson(repoDir);
  return { node: declaredNode(repoDir, pkg), packageManager: declaredPackageManager(repoDir, pkg) };
}
