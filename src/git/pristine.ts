/**
 * The spare checkout of each repository in the host's git cache (`<entry>/spare`): the tree of a commit, written from
 * verified objects after a clone returns, never mounted into a sandbox and never written by one. The next clone
 * checks it, brings it to its own commit by writing only the files that differ between the two trees, and renames it
 * into place, so creating the tree's files (what dominates a clone on a filesystem without reflinks) is done between
 * clones rather than during one, and a warm clone inflates and hashes only what changed upstream.
 *
 * Tampering is caught by stat, as git's own index does: the manifest records each entry's inode, size, type and mode,
 * mtime and ctime as written (ctime cannot be set back from user space), and the check compares them, the directories
 * being real ones holding nothing else. A mismatch, a missing entry or a torn manifest means the spare is not used:
 * the clone writes its tree from objects instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeEntries, type CommitTree, type TreeEntry } from './checkout';
import type { GitObject } from './pack';

const MANIFEST = 'manifest.json';
const CHECK_YIELD_EVERY = 250;
/** Beyond this share of changed entries, writing the tree afresh is as cheap as changing it in place. */
const REWRITE_SHARE = 0.5;

/** path, git mode, blob id, then the stat written: inode, size, st_mode, mtimeMs, ctimeMs. */
type Row = [string, number, string, number, number, number, number, number];

interface Manifest {
  commit: string;
  directories: string[];
  rows: Row[];
}

/** The spare checkout differs from what its manifest recorded; it is not used. */
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

  /** Brings the tree to `commit`, writing only the files that differ from the commit it holds (the refill's way). */
  async bringTo(commit: string, tree: CommitTree, read: (oid: string) => GitObject): Promise<void> {
    if (this.manifest?.commit === commit) return;
    const changes = this.manifest && changesTo(this.manifest, tree);
    if (!changes || changes.count > tree.entries.length * REWRITE_SHARE) return this.rewrite(commit, tree, read);
    try {
      const kept = new Map(this.manifestRows().map((row) => [row[0], row]));
      this.forget();
      const stats = await applyChanges(this.treeDir, tree, read, changes);
      this.record(commit, tree, (entry) => stats.get(entry.path) ?? rowStat(kept.get(entry.path)!));
    } catch (err) {
      if (!(err instanceof PristineMismatchError) && !(err as NodeJS.ErrnoException).code) throw err;
      await this.rewrite(commit, tree, read);
    }
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

  /**
   * Compares every entry's stat with the manifest, and checks that each directory is a real one holding only what
   * the manifest lists, a few hundred entries at a time (so it can run while the remote answers); returns each
   * entry's stat. Throws PristineMismatchError when anything differs.
   */
  async check(): Promise<Map<string, fs.Stats>> {
    const manifest = this.manifest;
    if (!manifest) throw new PristineMismatchError(`${this.dir} has no manifest`);
    const root = this.treeDir;
    const children = new Map<string, number>([['', 0]]);
    for (const dir of manifest.directories) {
      children.set(dir, 0);
      if (!fs.lstatSync(path.join(root, dir), { throwIfNoEntry: false })?.isDirectory())
        throw new PristineMismatchError(`${path.join(root, dir)} is not a directory`);
    }
    for (const name of [...manifest.directories, ...manifest.rows.map((row) => row[0])]) {
      const parent = name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : '';
      children.set(parent, (children.get(parent) ?? 0) + 1);
    }
    for (const [dir, count] of children) {
      const found = fs.readdirSync(path.join(root, dir)).length;
      if (found !== count)
        throw new PristineMismatchError(`${path.join(root, dir)} holds ${found} entries, not ${count}`);
    }
    const stats = new Map<string, fs.Stats>();
    let sinceYield = 0;
    for (const row of manifest.rows) {
      const stat = fs.lstatSync(path.join(root, row[0]), { throwIfNoEntry: false });
      this.verify(row, { path: row[0], mode: row[1], oid: row[2] }, stat);
      stats.set(row[0], stat!);
      if (++sinceYield === CHECK_YIELD_EVERY) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return stats;
  }

  /**
   * Takes the tree, checked by `check()` (its result is `checked`), brought to `commit` and renamed into `dir` (absent,
   * on the same filesystem); returns each entry's stat for the clone's index. The spare is consumed whatever happens:
   * undefined when the commits' trees differ too much to be worth changing in place (the caller writes the tree from
   * objects then), a thrown error when the change or the rename fails.
   */
  async takeTo(
    dir: string,
    commit: string,
    tree: CommitTree,
    read: (oid: string) => GitObject,
    checked: Map<string, fs.Stats>,
  ): Promise<Map<string, fs.Stats> | undefined> {
    const manifest = this.manifest;
    if (!manifest) throw new PristineMismatchError(`${this.dir} has no manifest`);
    this.forget();
    if (manifest.commit !== commit) {
      const changes = changesTo(manifest, tree);
      if (!changes || changes.count > tree.entries.length * REWRITE_SHARE) return undefined;
      for (const file of changes.removed) checked.delete(file);
      for (const [file, stat] of await applyChanges(this.treeDir, tree, read, changes)) checked.set(file, stat);
    }
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.renameSync(this.treeDir, dir);
    return checked;
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

  /** The manifest goes first, so a tree half changed (or taken) is never taken for whole. */
  private forget(): void {
    fs.rmSync(path.join(this.dir, MANIFEST), { force: true });
    this.manifest = undefined;
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

/** Removes and writes what `changes` lists inside `root`; returns the written entries' stats. */
async function applyChanges(
  root: string,
  tree: CommitTree,
  read: (oid: string) => GitObject,
  changes: { written: TreeEntry[]; removed: string[] },
): Promise<Map<string, fs.Stats>> {
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
  return writeEntries(root, read, changes.written);
}

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
