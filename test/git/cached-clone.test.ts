/**
 * The execution plane's clone through the host's git cache, against the real git http-backend: it checks out
 * what native git would, fetches only new objects when the cache is warm, never uses a damaged cache entry or a
 * tampered spare checkout, keeps the cache within its bound, tolerates concurrent clones, and refuses hostile trees.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import isoGit from 'isomorphic-git';
import { startGitServer, type GitServer } from '../../src/dev/git-server';
import { gitCacheSettled } from '../../src/git/cached-clone';
import { parsePack } from '../../src/git/pack';
import { writePackIndex } from '../../src/git/pack-index';
import { computePatch, shallowClone } from '../../src/git/workspace';
import { runChecked } from '../../src/host/command';
import { createFixtureRepo, git, pushChange, snapshotTree } from './fixture-repos';

let root: string;
let server: GitServer;
let n = 0;

const FILES = {
  'README.md': '# service\n',
  'lib/index.js': 'module.exports = 1;\n',
  'lib/deep/nested/util.js': 'exports.util = () => 2;\n',
  'bin/run.sh': { content: '#!/bin/sh\necho run\n', executable: true as const },
  'bin/current': { symlink: 'run.sh' },
  'docs/empty.txt': '',
};

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-cached-clone-'));
  server = await startGitServer({ root: path.join(root, 'repos') });
});
afterAll(async () => {
  await server?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

function url(name: string): string {
  return `${server.baseUrl}/${name}.git`;
}

function cacheAt(name: string, maxBytes = 2 ** 30) {
  return { dir: path.join(root, 'caches', name), maxBytes };
}

/** A clone, once the cache has also filled its spare checkout (which it does after the clone returns). */
async function clone(name: string, gitCache: { dir: string; maxBytes: number }, ref = 'trunk') {
  const dir = path.join(root, 'clones', `${n++}`);
  const cloned = await shallowClone({
    url: url(name),
    ref,
    dir: path.join(dir, 'tree'),
    gitdir: path.join(dir, 'git'),
    gitCache,
  });
  await gitCacheSettled();
  return cloned;
}

/** Async: the git server answers from this process, so a blocking child would wait for it forever. */
async function nativeClone(name: string): Promise<string> {
  const dir = path.join(root, 'native', `${n++}`);
  await runChecked('git', ['clone', '-q', '--depth', '1', url(name), dir]);
  return dir;
}

it('checks out the same files, contents, modes and symlinks as native git, on a default branch not named main', async () => {
  createFixtureRepo(root, 'acme/exact', FILES);
  const native = await nativeClone('acme/exact');

  const byBranch = await clone('acme/exact', cacheAt('exact'));
  const byHead = await clone('acme/exact', cacheAt('exact'), 'HEAD');

  expect(snapshotTree(byBranch.dir)).toEqual(snapshotTree(native));
  expect(snapshotTree(byHead.dir)).toEqual(snapshotTree(native));
  expect(byBranch.commit).toBe(git(['rev-parse', 'HEAD'], native));
  expect(fs.existsSync(path.join(byBranch.dir, '.git'))).toBe(false);
  expect(await isoGit.currentBranch({ fs, gitdir: byBranch.gitdir })).toBe('trunk');
  const matrix = await isoGit.statusMatrix({ fs, dir: byBranch.dir, gitdir: byBranch.gitdir });
  expect(matrix.filter(([, head, workdir, stage]) => !(head === 1 && workdir === 1 && stage === 1))).toEqual([]);
});

it('fetches only the new objects into a warm cache and checks out the new commit, which patches diff against', async () => {
  const { work } = createFixtureRepo(root, 'acme/warm', FILES);
  const gitCache = cacheAt('warm');
  const cold = await clone('acme/warm', gitCache);
  const newCommit = pushChange(work, 'lib/deep/nested/util.js', 'exports.util = () => 3;\n');

  const warm = await clone('acme/warm', gitCache);

  // The commit, the root, lib, deep and nested trees, and the changed blob: nothing the cache already had.
  expect(warm.objectsFetched).toBe(6);
  expect(cold.objectsFetched).toBeGreaterThan(warm.objectsFetched);
  expect(warm.commit).toBe(newCommit);
  expect(snapshotTree(warm.dir)).toEqual(snapshotTree(await nativeClone('acme/warm')));
  fs.writeFileSync(path.join(warm.dir, 'README.md'), '# service, changed\n');
  const { touchedFiles, patch } = await computePatch(warm.dir, { gitdir: warm.gitdir, base: warm.commit });
  expect(touchedFiles).toEqual(['README.md']);
  expect(patch).toContain('+# service, changed');
});

it('takes the spare checkout for a warm clone, writing only the files that changed upstream', async () => {
  const { work } = createFixtureRepo(root, 'acme/spare', FILES);
  const gitCache = cacheAt('spare');
  await clone('acme/spare', gitCache);
  const inodes = (dir: string) =>
    ['README.md', 'lib/index.js', 'bin/run.sh'].map((file) => fs.lstatSync(path.join(dir, file)).ino);
  const [spareIndex] = spareFiles(gitCache.dir, path.join('lib', 'index.js'));
  const spareInodes = inodes(path.resolve(path.dirname(spareIndex), '..'));
  pushChange(work, 'README.md', '# service, upstream\n');

  const warm = await clone('acme/spare', gitCache);

  // The unchanged files are the spare's own (renamed into place); README.md was written (its inode may be reused).
  const unchanged = inodes(warm.dir).slice(1);
  expect(unchanged).toEqual(spareInodes.slice(1));
  expect(fs.readFileSync(path.join(warm.dir, 'README.md'), 'utf8')).toBe('# service, upstream\n');
  expect(snapshotTree(warm.dir)).toEqual(snapshotTree(await nativeClone('acme/spare')));
  // The next spare is written anew, so the tree handed out is never shared with the cache.
  const [nextIndex] = spareFiles(gitCache.dir, path.join('lib', 'index.js'));
  expect(fs.lstatSync(nextIndex).ino).not.toBe(unchanged[0]);
});

it('detects a corrupt cached pack, drops it and fetches again, still checking out the right tree', async () => {
  createFixtureRepo(root, 'acme/corrupt', FILES);
  const gitCache = cacheAt('corrupt');
  const first = await clone('acme/corrupt', gitCache);
  const [packFile] = listPacks(gitCache.dir);
  const bytes = fs.readFileSync(packFile);
  bytes[bytes.length - 30] ^= 0xff;
  fs.writeFileSync(packFile, bytes);

  const second = await clone('acme/corrupt', gitCache);

  expect(second.objectsFetched).toBe(first.objectsFetched);
  expect(snapshotTree(second.dir)).toEqual(snapshotTree(first.dir));
  const packs = listPacks(gitCache.dir);
  expect(packs).toHaveLength(1);
  expect(fs.readFileSync(packs[0]).equals(bytes)).toBe(false);
});

it('detects an object that is not what its name says inside a pack whose checksum is valid, and fetches again', async () => {
  createFixtureRepo(root, 'acme/misnamed', FILES);
  const gitCache = cacheAt('misnamed');
  const first = await clone('acme/misnamed', gitCache);
  const [packFile] = listPacks(gitCache.dir);
  // The `lib` tree is given the `lib/deep` tree's content under its own name; the pack and its index stay consistent.
  const lib = git(['rev-parse', 'trunk:lib'], path.join(root, 'repos', 'acme/misnamed.git'));
  const deep = git(['rev-parse', 'trunk:lib/deep'], path.join(root, 'repos', 'acme/misnamed.git'));
  const misnamed = repackWithContentOf(packFile, lib, deep);

  const second = await clone('acme/misnamed', gitCache);

  expect(second.objectsFetched).toBe(first.objectsFetched);
  expect(snapshotTree(second.dir)).toEqual(snapshotTree(await nativeClone('acme/misnamed')));
  const packs = listPacks(gitCache.dir);
  expect(packs).toHaveLength(1);
  expect(fs.readFileSync(packs[0]).equals(misnamed)).toBe(false);
});

it('never hands out a file of the spare checkout that was changed after the cache wrote it', async () => {
  const { work } = createFixtureRepo(root, 'acme/pristine', FILES);
  const gitCache = cacheAt('pristine');
  await clone('acme/pristine', gitCache);
  // The spare checkout the next clone would take, outside any clone.
  const cachedCopies = spareFiles(gitCache.dir, path.join('lib', 'index.js'));
  expect(cachedCopies).toHaveLength(1);
  for (const file of cachedCopies) fs.appendFileSync(file, 'process.exit(1);\n');
  pushChange(work, 'README.md', '# service, upstream\n');

  const warm = await clone('acme/pristine', gitCache);
  const next = await clone('acme/pristine', gitCache);

  const native = snapshotTree(await nativeClone('acme/pristine'));
  expect(snapshotTree(warm.dir)).toEqual(native);
  expect(snapshotTree(next.dir)).toEqual(native);
  const matrix = await isoGit.statusMatrix({ fs, dir: warm.dir, gitdir: warm.gitdir });
  expect(matrix.filter(([, head, workdir, stage]) => !(head === 1 && workdir === 1 && stage === 1))).toEqual([]);
});

it('never hands out a spare checkout holding a file the cache did not write, nor one with a directory made a symlink', async () => {
  const { work } = createFixtureRepo(root, 'acme/planted', FILES);
  const gitCache = cacheAt('planted');
  await clone('acme/planted', gitCache);
  const [index] = spareFiles(gitCache.dir, path.join('lib', 'index.js'));
  fs.writeFileSync(path.join(path.dirname(index), 'planted.js'), 'process.exit(1);\n');
  const changed = pushChange(work, 'README.md', '# service, upstream\n');

  const warm = await clone('acme/planted', gitCache);

  expect(warm.commit).toBe(changed);
  expect(snapshotTree(warm.dir)).toEqual(snapshotTree(await nativeClone('acme/planted')));
  // The spare written after that clone, its `lib/deep` swapped for a symlink to a copy holding one more file.
  const [util] = spareFiles(gitCache.dir, path.join('lib', 'deep', 'nested', 'util.js'));
  const deep = path.resolve(path.dirname(util), '..');
  const elsewhere = path.join(root, `elsewhere-${n++}`);
  fs.cpSync(deep, elsewhere, { recursive: true });
  fs.writeFileSync(path.join(elsewhere, 'nested', 'planted.js'), 'process.exit(1);\n');
  fs.rmSync(deep, { recursive: true });
  fs.symlinkSync(elsewhere, deep);

  const next = await clone('acme/planted', gitCache);

  expect(snapshotTree(next.dir)).toEqual(snapshotTree(warm.dir));
});

it('keeps the cache under its byte bound by evicting the least recently used repository', async () => {
  for (const name of ['acme/lru-a', 'acme/lru-b', 'acme/lru-c'])
    createFixtureRepo(root, name, { ...FILES, 'data.txt': `${name}\n`.repeat(4_000) });
  const probe = cacheAt('lru-probe');
  await clone('acme/lru-a', probe);
  const oneRepository = cacheBytes(probe.dir);
  const gitCache = cacheAt('lru', Math.floor(oneRepository * 2.5));

  await clone('acme/lru-a', gitCache);
  await clone('acme/lru-b', gitCache);
  await clone('acme/lru-a', gitCache);
  await clone('acme/lru-c', gitCache);

  expect(cacheBytes(gitCache.dir)).toBeLessThanOrEqual(gitCache.maxBytes);
  expect(cachedUrls(gitCache.dir)).toEqual([url('acme/lru-a'), url('acme/lru-c')].sort());
});

it('lets two concurrent clones of one repository share the cache and both succeed', async () => {
  createFixtureRepo(root, 'acme/concurrent', FILES);
  const gitCache = cacheAt('concurrent');

  const [a, b] = await Promise.all([clone('acme/concurrent', gitCache), clone('acme/concurrent', gitCache)]);

  const native = snapshotTree(await nativeClone('acme/concurrent'));
  expect(snapshotTree(a.dir)).toEqual(native);
  expect(snapshotTree(b.dir)).toEqual(native);
  expect([a.objectsFetched, b.objectsFetched].sort((x, y) => x - y)).toEqual([0, a.objectsFetched || b.objectsFetched]);
});

describe('a hostile tree', () => {
  it.each([
    ['a symlink and a directory of the same name, a file under it', hostileSymlinkThenFile],
    ['an entry named ..', (bare: string) => commitTree(bare, treeBytes([['100644', '..', blob(bare, 'escaped\n')]]))],
    ['an entry named .GIT', (bare: string) => commitTree(bare, treeBytes([['40000', '.GIT', hooksTree(bare)]]))],
  ])('with %s is refused and nothing is written outside the tree', async (_name, makeCommit) => {
    const name = `acme/hostile-${n++}`;
    const { bare } = createFixtureRepo(root, name, { 'README.md': 'fine\n' });
    const outside = path.join(root, `outside-${n++}`);
    fs.mkdirSync(outside);
    git(['update-ref', 'refs/heads/trunk', makeCommit(bare, outside)], bare);

    await expect(clone(name, cacheAt(`hostile-${n++}`))).rejects.toThrow(/refusing to check out/);

    expect(fs.readdirSync(outside)).toEqual([]);
    expect(fs.existsSync(path.join(root, 'clones', 'escaped'))).toBe(false);
  });
});

function hostileSymlinkThenFile(bare: string, outside: string): string {
  const inner = git(
    ['hash-object', '-w', '-t', 'tree', '--literally', '--stdin'],
    bare,
    treeBytes([['100644', 'pwned.txt', blob(bare, 'pwned\n')]]),
  );
  return commitTree(
    bare,
    treeBytes([
      ['120000', 'a', blob(bare, outside)],
      ['40000', 'a', inner],
    ]),
  );
}

function hooksTree(bare: string): string {
  const hook = git(
    ['hash-object', '-w', '-t', 'tree', '--literally', '--stdin'],
    bare,
    treeBytes([['100755', 'post-checkout', blob(bare, '#!/bin/sh\ntouch pwned\n')]]),
  );
  return git(
    ['hash-object', '-w', '-t', 'tree', '--literally', '--stdin'],
    bare,
    treeBytes([['40000', 'hooks', hook]]),
  );
}

function blob(bare: string, content: string): string {
  return git(['hash-object', '-w', '--stdin'], bare, Buffer.from(content));
}

function treeBytes(entries: [string, string, string][]): Buffer {
  return Buffer.concat(
    entries.flatMap(([mode, name, oid]) => [Buffer.from(`${mode} ${name}\0`), Buffer.from(oid, 'hex')]),
  );
}

function commitTree(bare: string, tree: Buffer): string {
  const oid = git(['hash-object', '-w', '-t', 'tree', '--literally', '--stdin'], bare, tree);
  return git(['commit-tree', oid, '-m', 'hostile'], bare);
}

/** Rewrites a cached pack (and its index) whole, `victim` carrying `donor`'s content under its own name. */
function repackWithContentOf(packFile: string, victim: string, donor: string): Buffer {
  const { objects } = parsePack(fs.readFileSync(packFile), packFile);
  const donorData = objects.find((o) => o.oid === donor)!.data;
  const typeCodes = { commit: 1, tree: 2, blob: 3, tag: 4 } as const;
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(objects.length, 8);
  const parts = [header];
  let offset = 12;
  const entries = objects.map((object) => {
    const data = object.oid === victim ? donorData : object.data;
    const entry = Buffer.concat([entryHeader(typeCodes[object.type], data.length), zlib.deflateSync(data)]);
    parts.push(entry);
    const row = { oid: object.oid, offset, crc: zlib.crc32(entry) };
    offset += entry.length;
    return row;
  });
  const body = Buffer.concat(parts);
  const checksum = crypto.createHash('sha1').update(body).digest();
  const pack = Buffer.concat([body, checksum]);
  fs.writeFileSync(packFile, pack);
  fs.writeFileSync(packFile.replace(/\.pack$/, '.idx'), writePackIndex(entries, checksum.toString('hex')));
  return pack;
}

function entryHeader(typeCode: number, size: number): Buffer {
  const bytes = [(typeCode << 4) | (size & 0x0f)];
  for (let rest = size >> 4; rest > 0; rest >>= 7) {
    bytes[bytes.length - 1] |= 0x80;
    bytes.push(rest & 0x7f);
  }
  return Buffer.from(bytes);
}

/** The spare checkout's copies of `file` in the cache (one per entry that has a spare). */
function spareFiles(cacheDir: string, file: string): string[] {
  return fs
    .readdirSync(cacheDir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(path.join('tree', file)))
    .map((f) => path.join(cacheDir, f));
}

function listPacks(cacheDir: string): string[] {
  return fs
    .readdirSync(cacheDir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.pack'))
    .map((f) => path.join(cacheDir, f));
}

function cacheBytes(cacheDir: string): number {
  return fs
    .readdirSync(cacheDir, { recursive: true, encoding: 'utf8' })
    .map((f) => fs.lstatSync(path.join(cacheDir, f)))
    .filter((s) => s.isFile())
    .reduce((sum, s) => sum + s.size, 0);
}

function cachedUrls(cacheDir: string): string[] {
  return fs
    .readdirSync(cacheDir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('regatta-mirror.json'))
    .map((f) => (JSON.parse(fs.readFileSync(path.join(cacheDir, f), 'utf8')) as { url: string }).url)
    .sort();
}
