/**
 * The git side of publishing, the same for every forge: a fresh shallow clone of the base, the patch applied as data,
 * a deterministic commit, and the `regatta/…` branch brought to it on the remote. Runs in the control plane only:
 * nothing from the repository is executed, and no path the patch names may lead outside the clone.
 */
import fs from 'node:fs';
import path from 'node:path';
import git, { type AuthCallback, type CommitObject } from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { applyFilePatch, PatchConflict, type FilePatch } from '../patch/apply';
import { CODEOWNERS_LOCATIONS } from './codeowners';

export interface BranchSpec {
  url: string;
  base: string;
  branch: string;
  /** The commit message; its trailers mark the commit as Regatta's. */
  message: string;
  author: { name: string; email: string };
  auth?: { username: string; password: string };
}

/** Someone other than Regatta committed to the branch; pushing over their work would lose it. */
export class BranchModified extends Error {
  constructor(branch: string, tip: string, by: string) {
    super(`${branch} has commit ${tip.slice(0, 12)} by ${by}, not made by Regatta; delete the branch or close the change request to publish again`);
    this.name = 'BranchModified';
  }
}

export const REGATTA_TRAILER = 'Regatta-Campaign:';

export async function cloneBase(dir: string, spec: Pick<BranchSpec, 'url' | 'base' | 'auth'>): Promise<string> {
  await git.clone({ fs, http, dir, url: spec.url, ref: spec.base, singleBranch: true, depth: 1, noTags: true, onAuth: onAuth(spec.auth) });
  return git.resolveRef({ fs, dir, ref: 'HEAD' });
}

/** Applies every file's hunks to the clone's working tree and stages the result. */
export async function applyToClone(dir: string, files: FilePatch[]): Promise<void> {
  for (const file of files) {
    const full = insideClone(dir, file.path);
    const stat = lstat(full);
    if (stat && !stat.isFile()) throw new PatchConflict(file.path, 'is not a regular file in the base');
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

/** The base's CODEOWNERS text, where one exists as a regular file inside the clone. */
export function readCodeOwners(dir: string): string | undefined {
  for (const location of CODEOWNERS_LOCATIONS) {
    try {
      const full = insideClone(dir, location);
      if (lstat(full)?.isFile()) return fs.readFileSync(full, 'utf8');
    } catch (err) {
      if (!(err instanceof PatchConflict)) throw err;
    }
  }
  return undefined;
}

/** Same patch, base, author and message give the same commit id, so a retry pushes nothing new. */
export async function commitOnBase(dir: string, base: string, spec: BranchSpec): Promise<string> {
  const { commit } = await git.readCommit({ fs, dir, oid: base });
  const when = { timestamp: commit.committer.timestamp + 1, timezoneOffset: 0 };
  await git.branch({ fs, dir, ref: spec.branch, checkout: true, force: true });
  return git.commit({ fs, dir, ref: spec.branch, message: spec.message, author: { ...spec.author, ...when }, committer: { ...spec.author, ...when } });
}

/**
 * Brings the remote branch to `head`: nothing to do when it already has this commit, or one of Regatta's with the
 * same tree on the same base; a force-push when it holds Regatta's commit on an older base; refused when a person
 * committed to it. Returns the commit the branch ends at.
 */
export async function pushBranch(dir: string, base: string, head: string, spec: BranchSpec): Promise<{ head: string; pushed: boolean }> {
  const tip = await remoteTip(spec);
  if (tip === head) return { head, pushed: false };
  if (tip) {
    await git.fetch({ fs, http, dir, url: spec.url, ref: spec.branch, singleBranch: true, depth: 1, tags: false, onAuth: onAuth(spec.auth) });
    const { commit: theirs } = await git.readCommit({ fs, dir, oid: tip });
    if (!madeByRegatta(theirs, spec.author)) throw new BranchModified(spec.branch, tip, `${theirs.committer.name} <${theirs.committer.email}>`);
    const { commit: ours } = await git.readCommit({ fs, dir, oid: head });
    if (theirs.tree === ours.tree && theirs.parent[0] === base) return { head: tip, pushed: false };
  }
  await git.push({ fs, http, dir, url: spec.url, ref: spec.branch, remoteRef: `refs/heads/${spec.branch}`, force: true, onAuth: onAuth(spec.auth) });
  return { head, pushed: true };
}

async function remoteTip(spec: BranchSpec): Promise<string | undefined> {
  const ref = `refs/heads/${spec.branch}`;
  const refs = await git.listServerRefs({ http, url: spec.url, prefix: ref, onAuth: onAuth(spec.auth) });
  return refs.find((r) => r.ref === ref)?.oid;
}

function madeByRegatta(commit: CommitObject, author: { email: string }): boolean {
  return commit.committer.email === author.email && (commit.message.includes(`\n${REGATTA_TRAILER} `) || /\nRegatta campaign \S+, run /.test(commit.message));
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
    if (!stat.isDirectory()) throw new PatchConflict(relative, `${parts.slice(0, i).join('/')} is ${stat.isSymbolicLink() ? 'a symlink' : 'not a directory'} in the base`);
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

function onAuth(auth: BranchSpec['auth']): AuthCallback | undefined {
  return auth && (() => auth);
}
