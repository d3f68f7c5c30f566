/**
 * Writes a commit's tree into an empty working tree, and the git directory isomorphic-git reads it back from
 * (HEAD, refs, shallow, the packs, an index with each file's stat so a later status needs no re-hashing).
 *
 * A hostile tree is refused, not obeyed: names with `/`, `.`, `..`, NUL or a `.git` spelling, and duplicate
 * names. Directories come first, then files created with O_EXCL, then symlinks last, so nothing is ever
 * written through a symlink and nothing lands outside the tree. Executable bits are kept.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { GitObject } from './pack';

const YIELD_EVERY = 500;

export interface TreeEntry {
  path: string;
  mode: number;
  oid: string;
}

export interface CheckoutTarget {
  dir: string;
  gitdir: string;
  url: string;
  commit: string;
  /** The local branch HEAD names; a detached HEAD when absent. */
  branch?: string;
  /** Pack and index files to give the git directory (hard links where the filesystem allows). */
  packFiles: string[];
  read: (oid: string) => GitObject;
}

export interface CommitTree {
  /** Parents before children. */
  directories: string[];
  entries: TreeEntry[];
}

/** What the git directory records: where the clone came from, the commit, its branch and the packs. */
export type GitDirectoryTarget = Pick<CheckoutTarget, 'gitdir' | 'url' | 'commit' | 'branch' | 'packFiles'>;

export class UnsafeTreeError extends Error {
  readonly code = 'UnsafeTreeError';
}

export async function checkoutCommit(target: CheckoutTarget): Promise<void> {
  const tree = listCommitTree(target.read, target.commit);
  const stats = await writeTree(target.dir, target.read, tree);
  writeGitDirectory(target, tree.entries, stats);
}

/** Every directory and entry of a commit's tree, read (and so verified); a hostile tree is refused here, before any write. */
export function listCommitTree(read: (oid: string) => GitObject, commit: string): CommitTree {
  return listTree(read, commitTree(read(commit), commit));
}

/** Writes a listed tree into `dir` (created if need be, its contents absent): directories, files, symlinks last. */
export async function writeTree(
  dir: string,
  read: (oid: string) => GitObject,
  tree: CommitTree,
): Promise<Map<string, fs.Stats>> {
  fs.mkdirSync(dir, { recursive: true });
  for (const sub of tree.directories) fs.mkdirSync(path.join(dir, sub));
  return writeEntries(dir, read, tree.entries);
}

/** Reads (and so verifies and keeps in memory) every object of a commit's tree, ahead of its checkout. */
export function readCommitTree(read: (oid: string) => GitObject, commit: string): void {
  for (const entry of listCommitTree(read, commit).entries) read(entry.oid);
}

function commitTree(commit: GitObject, oid: string): string {
  if (commit.type !== 'commit') throw new UnsafeTreeError(`${oid} is a ${commit.type}, not a commit`);
  const match = /^tree ([0-9a-f]{40})\n/.exec(commit.data.toString('latin1', 0, 46));
  if (!match) throw new UnsafeTreeError(`commit ${oid} names no tree`);
  return match[1];
}

const FORBIDDEN_NAME = /^(\.git[. ]*|git~\d+|\.{1,2})$/i;

function listTree(read: (oid: string) => GitObject, root: string): CommitTree {
  const directories: string[] = [];
  const entries: TreeEntry[] = [];
  const walk = (oid: string, prefix: string) => {
    const tree = read(oid);
    if (tree.type !== 'tree') throw new UnsafeTreeError(`${prefix || '/'}: ${oid} is a ${tree.type}, not a tree`);
    const seen = new Set<string>();
    const data = tree.data;
    let at = 0;
    while (at < data.length) {
      const space = data.indexOf(0x20, at);
      const nul = data.indexOf(0, space);
      if (space < 0 || nul < 0 || nul + 21 > data.length) throw new UnsafeTreeError(`tree ${oid} is malformed`);
      const mode = Number.parseInt(data.toString('latin1', at, space), 8);
      const name = data.toString('utf8', space + 1, nul);
      const child = data.toString('hex', nul + 1, nul + 21);
      at = nul + 21;
      const full = prefix + name;
      if (!name || name.includes('/') || name.includes('\\') || FORBIDDEN_NAME.test(name))
        throw new UnsafeTreeError(`refusing to check out ${JSON.stringify(full)}: not a safe file name`);
      if (seen.has(name)) throw new UnsafeTreeError(`refusing to check out ${JSON.stringify(full)}: named twice`);
      seen.add(name);
      if (mode === 0o40000) {
        directories.push(full);
        walk(child, `${full}/`);
      } else if (mode === 0o160000) directories.push(full);
      else if (mode === 0o120000 || (mode & 0o170000) === 0o100000)
        entries.push({ path: full, mode: mode === 0o120000 ? mode : mode & 0o100 ? 0o100755 : 0o100644, oid: child });
      else throw new UnsafeTreeError(`refusing to check out ${JSON.stringify(full)}: unknown mode ${mode.toString(8)}`);
    }
  };
  walk(root, '');
  return { directories, entries };
}

/**
 * Synchronous writes measured faster than libuv's pool for thousands of small files (one thread hop per open,
 * write and close); the loop yields now and then so heartbeats still run during a large checkout.
 */
export async function writeEntries(
  dir: string,
  read: (oid: string) => GitObject,
  entries: readonly TreeEntry[],
): Promise<Map<string, fs.Stats>> {
  const stats = new Map<string, fs.Stats>();
  const createFlags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
  let sinceYield = 0;
  for (const entry of entries) {
    if (entry.mode === 0o120000) continue;
    const blob = blobOf(read, entry);
    const fd = fs.openSync(path.join(dir, entry.path), createFlags, entry.mode === 0o100755 ? 0o755 : 0o644);
    try {
      if (blob.length) fs.writeSync(fd, blob);
      stats.set(entry.path, fs.fstatSync(fd));
    } finally {
      fs.closeSync(fd);
    }
    if (++sinceYield === YIELD_EVERY) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  // Symlinks last: no file or directory is created after one exists, so none is written through one.
  for (const entry of entries) {
    if (entry.mode !== 0o120000) continue;
    const link = blobOf(read, entry).toString('utf8');
    if (!link || link.includes('\0')) throw new UnsafeTreeError(`refusing symlink ${entry.path}: empty or NUL target`);
    const at = path.join(dir, entry.path);
    fs.symlinkSync(link, at);
    stats.set(entry.path, fs.lstatSync(at));
  }
  return stats;
}

function blobOf(read: (oid: string) => GitObject, entry: TreeEntry): Buffer {
  const object = read(entry.oid);
  if (object.type !== 'blob') throw new UnsafeTreeError(`${entry.path}: ${entry.oid} is a ${object.type}, not a blob`);
  return object.data;
}

/** The DIRC version 2 index: entries sorted by path bytes, each with its stat, then a SHA-1 trailer. */
function indexOf(entries: readonly TreeEntry[], stats: ReadonlyMap<string, fs.Stats>): Buffer {
  const rows = entries
    .map((entry) => ({ entry, stat: stats.get(entry.path)!, name: Buffer.from(entry.path, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.name, b.name));
  // One buffer for the whole index, each row padded with NULs to a multiple of 8 bytes.
  const rowBytes = (name: Buffer) => Math.ceil((62 + name.length + 1) / 8) * 8;
  const size = rows.reduce((sum, row) => sum + rowBytes(row.name), 12);
  const out = Buffer.alloc(size + 20);
  out.write('DIRC', 0, 'latin1');
  out.writeUInt32BE(2, 4);
  out.writeUInt32BE(rows.length, 8);
  let at = 12;
  for (const { entry, stat, name } of rows) {
    const [cs, cn] = secondsNanoseconds(stat.ctimeMs);
    const [ms, mn] = secondsNanoseconds(stat.mtimeMs);
    const fields = [cs, cn, ms, mn, stat.dev, stat.ino, entry.mode, stat.uid, stat.gid, stat.size];
    for (let i = 0; i < fields.length; i++) out.writeUInt32BE(fields[i] % 2 ** 32, at + i * 4);
    out.write(entry.oid, at + 40, 'hex');
    out.writeUInt16BE(Math.min(name.length, 0xfff), at + 60);
    name.copy(out, at + 62);
    at += rowBytes(name);
  }
  crypto.createHash('sha1').update(out.subarray(0, size)).digest().copy(out, size);
  return out;
}

/** The same rounding isomorphic-git applies when it compares a file's stat with its index entry. */
function secondsNanoseconds(milliseconds: number): [number, number] {
  const seconds = Math.floor(milliseconds / 1000);
  return [seconds, Math.floor((milliseconds - seconds * 1000) * 1_000_000)];
}

/** The git directory of a checked-out tree, its index made from each entry's stat in that tree. */
export function writeGitDirectory(
  target: GitDirectoryTarget,
  entries: readonly TreeEntry[],
  stats: ReadonlyMap<string, fs.Stats>,
): void {
  const { gitdir, commit, branch } = target;
  const index = indexOf(entries, stats);
  const packDir = path.join(gitdir, 'objects', 'pack');
  fs.mkdirSync(packDir, { recursive: true });
  for (const dir of ['refs/heads', 'refs/tags', 'refs/remotes/origin', 'objects/info'])
    fs.mkdirSync(path.join(gitdir, dir), { recursive: true });
  for (const file of target.packFiles) linkOrCopy(file, path.join(packDir, path.basename(file)));
  const config = [
    '[core]',
    '\trepositoryformatversion = 0',
    '\tfilemode = true',
    '\tbare = false',
    '\tsymlinks = true',
  ];
  config.push('[remote "origin"]', `\turl = ${target.url}`);
  if (branch) {
    config.push(`\tfetch = +refs/heads/${branch}:refs/remotes/origin/${branch}`);
    config.push(`[branch "${branch}"]`, '\tremote = origin', `\tmerge = refs/heads/${branch}`);
    fs.mkdirSync(path.dirname(path.join(gitdir, 'refs/heads', branch)), { recursive: true });
    fs.mkdirSync(path.dirname(path.join(gitdir, 'refs/remotes/origin', branch)), { recursive: true });
    fs.writeFileSync(path.join(gitdir, 'refs/heads', branch), `${commit}\n`);
    fs.writeFileSync(path.join(gitdir, 'refs/remotes/origin', branch), `${commit}\n`);
  }
  fs.writeFileSync(path.join(gitdir, 'config'), `${config.join('\n')}\n`);
  fs.writeFileSync(path.join(gitdir, 'shallow'), `${commit}\n`);
  fs.writeFileSync(path.join(gitdir, 'HEAD'), branch ? `ref: refs/heads/${branch}\n` : `${commit}\n`);
  fs.writeFileSync(path.join(gitdir, 'index'), index);
}

function linkOrCopy(from: string, to: string): void {
  try {
    fs.linkSync(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
    fs.copyFileSync(from, to);
  }
}
