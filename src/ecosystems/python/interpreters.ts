/**
 * Which Python a repository runs with, read like `.nvmrc`: `.python-version` (its first line: `3.12`, `3.12.1`,
 * `cpython-3.12`), else pyproject's `requires-python` (`>=3.10,<3.13`), chosen among the Pythons this host has:
 * Debian's python3 (the sandbox image's own, so it needs no mount) and every other installation REGATTA_PYTHON_DIRS
 * lists (default: pyenv's versions directory, when there is one). uv cannot download a Python here (registries only),
 * so a request no host Python meets fails the run, naming what was asked and what there is.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class PythonToolchainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PythonToolchainError';
  }
}

export interface HostPython {
  version: string;
  /** The installation's root (bin/python3 under it); undefined for Debian's, which the sandbox image has too. */
  dir?: string;
  origin: 'debian' | 'installation';
}

export type PythonRequestSource = '.python-version' | 'pyproject.toml requires-python';

export interface PythonRequest {
  source: PythonRequestSource;
  declared: string;
}

/** What the repository asks for: `.python-version` first, then `requires-python`; undefined when neither says. */
export function requestedPython(pythonVersionFile?: string, pyproject?: string): PythonRequest | undefined {
  const line = pythonVersionFile
    ?.split('\n')
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith('#'));
  if (line) return { source: '.python-version', declared: line };
  const requires = pyproject && /^\s*requires-python\s*=\s*["']([^"']+)["']/m.exec(projectTable(pyproject))?.[1];
  return requires ? { source: 'pyproject.toml requires-python', declared: requires.trim() } : undefined;
}

/** The text of pyproject's `[project]` table. */
function projectTable(pyproject: string): string {
  const start = pyproject.search(/^\s*\[project\]\s*$/m);
  if (start < 0) return '';
  const rest = pyproject.slice(start).replace(/^\s*\[project\]\s*$/m, '');
  const next = rest.search(/^\s*\[/m);
  return next < 0 ? rest : rest.slice(0, next);
}

function parts(version: string): number[] {
  return version.split('.').map((p) => Number.parseInt(p, 10) || 0);
}

function compare(a: string, b: string): number {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++)
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** Whether `version` meets one PEP 440 clause (`>=3.10`, `<3.13`, `==3.12.*`, `~=3.11`, `!=3.12.0`). */
function meetsClause(version: string, clause: string): boolean {
  const match = /^\s*(===|==|~=|>=|<=|!=|<|>)\s*([0-9][0-9.]*)(\.\*)?\s*$/.exec(clause);
  if (!match) throw new PythonToolchainError(`cannot read the version clause "${clause.trim()}"`);
  const [, op, bound, wildcard] = match;
  const prefix = (v: string) => parts(v).slice(0, parts(bound).length).join('.') === parts(bound).join('.');
  switch (op) {
    case '==':
    case '===':
      return wildcard ? prefix(version) : compare(version, bound) === 0;
    case '!=':
      return wildcard ? !prefix(version) : compare(version, bound) !== 0;
    case '>=':
      return compare(version, bound) >= 0;
    case '<=':
      return compare(version, bound) <= 0;
    case '>':
      return compare(version, bound) > 0;
    case '<':
      return compare(version, bound) < 0;
    default: {
      // ~=X.Y means >=X.Y and ==X.*
      const keep = parts(bound).slice(0, -1).join('.');
      return compare(version, bound) >= 0 && parts(version).slice(0, parts(keep).length).join('.') === keep;
    }
  }
}

/** Whether a host Python meets the request: a `.python-version` prefix (`3.12` meets 3.12.1) or a specifier set. */
export function meets(version: string, request: PythonRequest): boolean {
  if (request.source === '.python-version') {
    const wanted = /^(?:cpython-|python)?([0-9]+(?:\.[0-9]+){0,2})$/.exec(request.declared)?.[1];
    if (!wanted)
      throw new PythonToolchainError(
        `.python-version says "${request.declared}"; expected a CPython version such as 3.12 or 3.12.1`,
      );
    return parts(version).slice(0, parts(wanted).length).join('.') === parts(wanted).join('.');
  }
  return request.declared.split(',').every((clause) => meetsClause(version, clause));
}

/**
 * The Python for a request: Debian's when it meets it (no mount needed), else the newest host Python that does; with
 * no request, Debian's.
 */
export function choosePython(request: PythonRequest | undefined, host: readonly HostPython[]): HostPython {
  const debian = host.find((p) => p.origin === 'debian');
  if (!request) {
    if (!debian) throw new PythonToolchainError('this host has no python3 of its own for the sandbox');
    return debian;
  }
  const able = host.filter((p) => meets(p.version, request)).sort((a, b) => compare(b.version, a.version));
  const chosen = able.find((p) => p.origin === 'debian') ?? able[0];
  if (!chosen)
    throw new PythonToolchainError(
      `${request.source} asks for Python "${request.declared}"; this host has Python ${[...new Set(host.map((p) => p.version))].sort(compare).join(', ')} (uv cannot download one here: install it on the host, or name REGATTA_PYTHON_DIRS)`,
    );
  return chosen;
}

function versionOf(python: string): string | undefined {
  try {
    return execFileSync(python, ['-c', 'import platform; print(platform.python_version())'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

let found: HostPython[] | undefined;

/** Debian's /usr/bin/python3 and every installation (a directory with bin/python3) in REGATTA_PYTHON_DIRS' directories. */
export function hostPythons(env: NodeJS.ProcessEnv = process.env): HostPython[] {
  if (found && env === process.env) return found;
  const pythons: HostPython[] = [];
  const debian = versionOf('/usr/bin/python3');
  if (debian) pythons.push({ version: debian, origin: 'debian' });
  const pyenv = path.join(env.PYENV_ROOT ?? path.join(os.homedir(), '.pyenv'), 'versions');
  const roots = (env.REGATTA_PYTHON_DIRS ?? (fs.existsSync(pyenv) ? pyenv : '')).split(':').filter(Boolean);
  for (const root of roots)
    for (const name of fs.existsSync(root) ? fs.readdirSync(root).sort() : []) {
      const dir = fs.realpathSync(path.join(root, name));
      const python = path.join(dir, 'bin', 'python3');
      // A link to another directory (pyenv's `3.12` → `3.12.1`) is the same installation.
      if (!fs.existsSync(python) || pythons.some((p) => p.dir === dir)) continue;
      const version = versionOf(python);
      if (version) pythons.push({ version, dir, origin: 'installation' });
    }
  if (env === process.env) found = pythons;
  return pythons;
}
