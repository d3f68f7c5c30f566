/**
 * A pristine checkout per repository in the host's git cache (`<entry>/pristine`): the tree of the commit the entry
 * last checked out, written from verified objects, never mounted into a sandbox and never written by one. A clone is a
 * copy of it, brought first to the new commit by writing only the files that differ between the two trees, so a warm
 * clone inflates and hashes only what changed upstream. Copies, not hard links: the sandbox writes its tree.
 *
 * Tampering is caught by stat, as git's own index does: the manifest records each entry's inode, size, type and mode,
 * mtime and ctime as written (ctime cannot be set back from user space), and every copy compares them first. A
 * mismatch, a missing entry or a torn manifest makes the pristine checkout be written again from objects.
 *
 * Each entry also keeps a spare: a second copy, filled from the pristine one after a clone, off the clone's path. The
 * next clone brings the spare to its commit the same way and renames it into place, so creating the tree's files (what
 * dominates a clone on a filesystem without reflinks) is done between clones rather than during one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeEntries, type CommitTree, type TreeEntry } from './checkout';
import type { GitObject } from './pack';

const MANIFEST = 'manifest.json';
const YIELD_EVERY = 500;
/** Beyond this share of changed entries, writing the tree afresh is as cheap as changing it in place. */
const REWRITE_SHARE = 0.5;
/** reflink where the filesystem has it (btrfs, XFS), else an in-kernel copy; never over an existing file. */
const COPY_FLAGS = fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE;

/** path, git mode, blob id, then the stat written: inode, size, st_mode, mtimeMs, ctimeMs. */
type Row = [string, number, string, number, number, number, number, number];

interface Manifest {
  commit: string;
  directories: string[];
  rows: Row[];
}

/** The pristine checkout differs from what its manifest recorded; it is written again from objects. */
export class PristineMismatchError extends Error {
  readonly code = 'PristineMismatchError';
}

export class PristineCheckout {
  private manifest: Manifest | undefined;

  constructor(readonly dir: string) {
    this.manifest = readManifest(path.join(dir, MANIFEST));
  }

  get treeDir(): string {
    return path.join(this.dir, 'tree');
  }

  /** The commit it holds, when it is whole. */
  get commit(): string | undefined {
    return this.manifest?.commit;
  }

  /** The tree it holds, as its manifest lists it. */
  listed(): CommitTree | undefined {
    if (!this.manifest) return undefined;
    const entries = this.manifest.rows.map(([file, mode, oid]) => ({ path: file, mode, oid }));
    return { directories: this.manifest.directories, entries };
  }

  /** Brings the pristine tree to `commit`, writing only the files that differ from the commit it holds. */
  async bringTo(commit: string, tree: CommitTree, read: (oid: string) => GitObject): Promise<void> {
    if (this.manifest?.commit === commit) return;
    const changes = this.manifest && changesTo(this.manifest, tree);
    if (!changes || changes.count > tree.entries.length * REWRITE_SHARE) return this.rewrite(commit, tree, read);
    try {
      await this.change(commit, tree, read, changes);
    } catch (err) {
      if (!(err instanceof PristineMismatchError) && !(err as NodeJS.ErrnoException).code) throw err;
      await this.rewrite(commit, tree, read);
    }
  }

  private async change(
    commit: string,
    tree: CommitTree,
    read: (oid: string) => GitObject,
    changes: { written: TreeEntry[]; removed: string[] },
  ): Promise<void> {
    const kept = new Map(this.manifestRows().map((row) => [row[0], row]));
    this.forget();
    const root = this.treeDir;
    const directories = new Set(tree.directories);
    for (const file of changes.removed) {
      assertRealDirectories(root, file);
      // The outermost directory of the removed file that the new tree no longer has goes with it.
      const parts = file.split('/');
      const gone = parts.findIndex((_, i) => i < parts.length - 1 && !directories.has(parts.slice(0, i + 1).join('/')));
      fs.rmSync(path.join(root, ...(gone < 0 ? parts : parts.slice(0, gone + 1))), { recursive: true, force: true });
    }
    for (const sub of tree.directories) {
      const at = path.join(root, sub);
      if (!fs.lstatSync(at, { throwIfNoEntry: false })?.isDirectory()) fs.mkdirSync(at);
    }
    for (const entry of changes.written) assertRealDirectories(root, entry.path);
    const stats = await writeEntries(root, read, changes.written);
    this.record(commit, tree, (entry) => stats.get(entry.path) ?? rowStat(kept.get(entry.path)!));
  }

  /** Writes the whole tree again from objects. */
  async rewrite(commit: string, tree: CommitTree, read: (oid: string) => GitObject): Promise<void> {
    this.forget();
    fs.rmSync(this.treeDir, { recursive: true, force: true });
    fs.mkdirSync(this.treeDir, { recursive: true });
    for (const sub of tree.directories) fs.mkdirSync(path.join(this.treeDir, sub));
    const stats = await writeEntries(this.treeDir, read, tree.entries);
    this.record(commit, tree, (entry) => stats.get(entry.path)!);
  }

  /** Becomes a copy of `source`'s tree, copied a few files at a time so a worker's event loop keeps turning. */
  async fillFrom(source: PristineCheckout): Promise<void> {
    const tree = source.listed();
    if (!tree || !source.commit) return;
    this.forget();
    fs.rmSync(this.treeDir, { recursive: true, force: true });
    const stats = await source.copyTo(this.treeDir, tree, 50);
    this.record(source.commit, tree, (entry) => stats.get(entry.path)!);
  }

  /**
   * Moves the tree into `dir` (absent or an empty directory, on the same filesystem) after checking every entry's
   * stat against the manifest and that the tree holds nothing else; returns the stats for the clone's index. It is
   * empty afterwards. Throws PristineMismatchError (or the rename's error) and leaves `dir` as it was when it cannot.
   */
  moveTo(dir: string, tree: CommitTree): Map<string, fs.Stats> {
    const rows = new Map(this.manifestRows().map((row) => [row[0], row]));
    const stats = new Map<string, fs.Stats>();
    for (const entry of tree.entries) {
      const stat = fs.lstatSync(path.join(this.treeDir, entry.path), { throwIfNoEntry: false });
      this.verify(rows.get(entry.path), entry, stat);
      stats.set(entry.path, stat!);
    }
    // Names are unique in a tree, and each was found above: the same count means nothing else is there.
    const found = fs.readdirSync(this.treeDir, { recursive: true }).length;
    if (found !== tree.entries.length + tree.directories.length)
      throw new PristineMismatchError(`${this.treeDir} holds ${found} entries, not the tree's`);
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.renameSync(this.treeDir, dir);
    this.forget();
    this.manifest = undefined;
    return stats;
  }

  /**
   * Copies the tree (which it must hold) into the empty or absent `dir`: directories, files, symlinks last, each
   * entry's stat first compared with the manifest. Returns each copy's stat for the clone's index.
   */
  async copyTo(dir: string, tree: CommitTree, yieldEvery = YIELD_EVERY): Promise<Map<string, fs.Stats>> {
    const rows = new Map(this.manifestRows().map((row) => [row[0], row]));
    fs.mkdirSync(dir, { recursive: true });
    for (const sub of tree.directories) fs.mkdirSync(path.join(dir, sub));
    const stats = new Map<string, fs.Stats>();
    let sinceYield = 0;
    for (const entry of tree.entries) {
      if (entry.mode === 0o120000) continue;
      const from = path.join(this.treeDir, entry.path);
      this.verify(rows.get(entry.path), entry, fs.lstatSync(from, { throwIfNoEntry: false }));
      const to = path.join(dir, entry.path);
      fs.copyFileSync(from, to, COPY_FLAGS);
      stats.set(entry.path, fs.lstatSync(to));
      if (++sinceYield === yieldEvery) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    for (const entry of tree.entries) {
      if (entry.mode !== 0o120000) continue;
      const from = path.join(this.treeDir, entry.path);
      this.verify(rows.get(entry.path), entry, fs.lstatSync(from, { throwIfNoEntry: false }));
      const to = path.join(dir, entry.path);
      fs.symlinkSync(fs.readlinkSync(from), to);
      stats.set(entry.path, fs.lstatSync(to));
    }
    return stats;
  }

  private verify(row: Row | undefined, entry: TreeEntry, stat: fs.Stats | undefined): void {
    const same =
      row !== undefined &&
      stat !== undefined &&
      row[1] === entry.mode &&
      row[2] === entry.oid &&
      row[3] === stat.ino &&
      row[4] === stat.size &&
      row[5] === stat.mode &&
      row[6] === stat.mtimeMs &&
      row[7] === stat.ctimeMs;
    if (!same)
      throw new PristineMismatchError(`${path.join(this.treeDir, entry.path)} is not as the git cache wrote it`);
  }

  private manifestRows(): Row[] {
    if (!this.manifest) throw new PristineMismatchError(`${this.dir} has no manifest`);
    return this.manifest.rows;
  }

  /** The manifest goes first, so a pristine tree half changed is never taken for whole. */
  private forget(): void {
    fs.rmSync(path.join(this.dir, MANIFEST), { force: true });
  }

  private record(commit: string, tree: CommitTree, statOf: (entry: TreeEntry) => StatFields): void {
    const rows = tree.entries.map((entry): Row => {
      const stat = statOf(entry);
      return [entry.path, entry.mode, entry.oid, stat.ino, stat.size, stat.mode, stat.mtimeMs, stat.ctimeMs];
    });
    const manifest = { commit, directories: tree.directories, rows };
    const staging = path.join(this.dir, `.${MANIFEST}.${process.pid}.tmp`);
    fs.writeFileSync(staging, JSON.stringify(manifest));
    fs.renameSync(staging, path.join(this.dir, MANIFEST));
    this.manifest = manifest;
  }
}

type StatFields = Pick<fs.Stats, 'ino' | 'size' | 'mode' | 'mtimeMs' | 'ctimeMs'>;

function rowStat(row: Row): StatFields {
  return { ino: row[3], size: row[4], mode: row[5], mtimeMs: row[6], ctimeMs: row[7] };
}

/**
 * What to write and remove to go from the manifest's tree to `tree`; undefined when a symlink is among the changes,
 * which a rewrite handles (so nothing is ever written below a symlink a change leaves behind).
 */
function changesTo(
  manifest: Manifest,
  tree: CommitTree,
): { written: TreeEntry[]; removed: string[]; count: number } | undefined {
  const before = new Map(manifest.rows.map((row) => [row[0], row]));
  const written: TreeEntry[] = [];
  for (const entry of tree.entries) {
    const row = before.get(entry.path);
    before.delete(entry.path);
    if (row && row[1] === entry.mode && row[2] === entry.oid) continue;
    if (entry.mode === 0o120000 || row?.[1] === 0o120000) return undefined;
    written.push(entry);
  }
  if ([...before.values()].some((row) => row[1] === 0o120000)) return undefined;
  // A written path is cleared first too: its old file, or a directory it replaces.
  const removed = [...before.keys(), ...written.map((entry) => entry.path)];
  return { written, removed, count: written.length + before.size };
}

/** Every directory above `file` inside `root` is a directory, not a symlink to somewhere else. */
function assertRealDirectories(root: string, file: string): void {
  const parts = file.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const at = path.join(root, ...parts.slice(0, i));
    const stat = fs.lstatSync(at, { throwIfNoEntry: false });
    if (stat && !stat.isDirectory()) throw new PristineMismatchError(`${at} is not a directory`);
  }
}

function readManifest(file: string): Manifest | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Manifest>;
    const wellFormed =
      typeof parsed.commit === 'string' &&
      /^[0-9a-f]{40}$/.test(parsed.commit) &&
      Array.isArray(parsed.directories) &&
      parsed.directories.every((dir) => typeof dir === 'string') &&
      Array.isArray(parsed.rows) &&
      parsed.rows.every((row) => Array.isArray(row) && row.length === 8 && typeof row[0] === 'string');
    return wellFormed ? (parsed as Manifest) : undefined;
  } catch {
    return undefined;
  }
}
