/**
 * The `regatta/…` branch built locally, the same for every forge: a fresh shallow clone of the base, the patch
 * applied as data and staged, and a deterministic commit. Runs in the control plane only: nothing from the repository
 * is executed, and no path the patch names may lead outside the clone.
 */
import fs from 'node:fs';
import path from 'node:path';
import git, { type AuthCallback } from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { applyFilePatch, PatchConflictError, type FilePatch } from '../patch/apply';

export interface BranchSpec {
  url: string;
  base: string;
  branch: string;
  /** The commit message; its trailers mark the commit as Regatta's. */
  message: string;
  author: { name: string; email: string };
  auth?: { username: string; password: string };
}

export const REGATTA_TRAILER = 'Regatta-Campaign:';

export async function cloneBase(dir: string, spec: Pick<BranchSpec, 'url' | 'base' | 'auth'>): Promise<string> {
  await git.clone({
    fs,
    http,
    dir,
    url: spec.url,
    ref: spec.base,
    singleBranch: true,
    depth: 1,
    noTags: true,
    onAuth: onAuth(spec.auth),
  });
  return git.resolveRef({ fs, dir, ref: 'HEAD' });
}

/** Applies every file's hunks to the clone's working tree and stages the result. */
export async function applyToClone(dir: string, files: FilePatch[]): Promise<void> {
  for (const file of files) {
    const full = insideClone(dir, file.path);
    const stat = lstat(full);
    if (stat && !stat.isFile()) throw new PatchConflictError(file.path, 'is not a regular file in the base');
    const next = applyFilePatch(file, stat ? fs.readFileSync(full, 'utf8') : undefined);
    if (next === undefined) {
      fs.rmSync(full);
      await git.remove({ fs, dir, filepath: file.path });
    } else {
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, next);
      await git.add({ fs, dir, filepath: file.path });
    }
  }
}

/** The text of the first of `locations` that is a regular file inside the clone (CODEOWNERS, for one). */
export function readFirstRegularFile(dir: string, locations: readonly string[]): string | undefined {
  for (const location of locations) {
    try {
      const full = insideClone(dir, location);
      if (lstat(full)?.isFile()) return fs.readFileSync(full, 'utf8');
    } catch (err) {
      if (!(err instanceof PatchConflictError)) throw err;
    }
  }
  return undefined;
}

/** Same patch, base, author and message give the same commit id, so a retry pushes nothing new. */
export async function commitOnBase(dir: string, base: string, spec: BranchSpec): Promise<string> {
  const { commit } = await git.readCommit({ fs, dir, oid: base });
  const when = { timestamp: commit.committer.timestamp + 1, timezoneOffset: 0 };
  await git.branch({ fs, dir, ref: spec.branch, checkout: true, force: true });
  return git.commit({
    fs,
    dir,
    ref: spec.branch,
    message: spec.message,
    author: { ...spec.author, ...when },
    committer: { ...spec.author, ...when },
  });
}

/** isomorphic-git's `onAuth` for the forge's push credentials; none for a remote that needs none. */
export function onAuth(auth: BranchSpec['auth']): AuthCallback | undefined {
  return auth && (() => auth);
}

/**
 * The full path of a repository path, refusing any whose parent directories in the clone are symlinks or files:
 * a base with `docs -> /etc` must not let a patch read or write outside the clone.
 */
function insideClone(dir: string, relative: string): string {
  const parts = relative.split('/');
  for (let i = 1; i < parts.length; i++) {
    const stat = lstat(path.join(dir, ...parts.slice(0, i)));
    if (!stat) break;
    if (!stat.isDirectory())
      throw new PatchConflictError(
        relative,
        `${parts.slice(0, i).join('/')} is ${stat.isSymbolicLink() ? 'a symlink' : 'not a directory'} in the base`,
      );
  }
  return path.join(dir, ...parts);
}

/** The entry itself, never what a symlink points to; undefined when nothing is there. */
function lstat(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
