/**
 * The mirror's bounded tarball cache on a real directory: least recently served goes first, even where the
 * filesystem's timestamps cannot tell two serves apart, and the tarball just added is never the one evicted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TarballCache } from '../../src/registry/mirror';

const KIB = 1024;
let storage: string;

beforeEach(() => {
  storage = fs.mkdtempSync(path.join(os.tmpdir(), 'tarball-cache-'));
});
afterEach(() => fs.rmSync(storage, { recursive: true, force: true }));

/** Stores a tarball as Verdaccio would, with the same whole-second atime and mtime as every other. */
function store(name: string, file: string, bytes: number): void {
  fs.mkdirSync(path.join(storage, name), { recursive: true });
  const full = path.join(storage, name, file);
  fs.writeFileSync(full, Buffer.alloc(bytes));
  const sameSecond = new Date('2026-12-01T00:00:00Z');
  fs.utimesSync(full, sameSecond, sameSecond);
}

const stored = (name: string, file: string) => fs.existsSync(path.join(storage, name, file));

it('evicts the least recently served tarball when every timestamp is the same second', async () => {
  const cache = new TarballCache(storage, 25 * KIB);
  store('a', 'a-1.0.0.tgz', 10 * KIB);
  store('b', 'b-1.0.0.tgz', 10 * KIB);
  await cache.settle('b', 'b-1.0.0.tgz');
  await cache.settle('a', 'a-1.0.0.tgz');
  // Served again: b is now more recent than a.
  await cache.settle('b', 'b-1.0.0.tgz');
  for (const full of [path.join(storage, 'a', 'a-1.0.0.tgz'), path.join(storage, 'b', 'b-1.0.0.tgz')])
    fs.utimesSync(full, new Date('2026-12-01T00:00:00Z'), new Date('2026-12-01T00:00:00Z'));

  store('c', 'c-1.0.0.tgz', 10 * KIB);
  const evicted = await cache.settle('c', 'c-1.0.0.tgz');

  expect(evicted).toEqual([path.join('a', 'a-1.0.0.tgz')]);
  expect([stored('a', 'a-1.0.0.tgz'), stored('b', 'b-1.0.0.tgz'), stored('c', 'c-1.0.0.tgz')]).toEqual([
    false,
    true,
    true,
  ]);
});

it('never evicts the tarball it has just added, even when it alone is over the bound', async () => {
  const cache = new TarballCache(storage, 15 * KIB);
  store('a', 'a-1.0.0.tgz', 10 * KIB);
  await cache.settle('a', 'a-1.0.0.tgz');
  store('big', 'big-1.0.0.tgz', 20 * KIB);
  const evicted = await cache.settle('big', 'big-1.0.0.tgz');

  expect(evicted).toEqual([path.join('a', 'a-1.0.0.tgz')]);
  expect(stored('big', 'big-1.0.0.tgz')).toBe(true);
});

it('orders tarballs not served since the process started by their atime, before any it has served', async () => {
  store('old', 'old-1.0.0.tgz', 10 * KIB);
  store('older', 'older-1.0.0.tgz', 10 * KIB);
  fs.utimesSync(
    path.join(storage, 'older', 'older-1.0.0.tgz'),
    new Date('2026-11-01T00:00:00Z'),
    new Date('2026-11-01T00:00:00Z'),
  );
  const cache = new TarballCache(storage, 25 * KIB);
  store('new', 'new-1.0.0.tgz', 10 * KIB);
  const evicted = await cache.settle('new', 'new-1.0.0.tgz');

  expect(evicted).toEqual([path.join('older', 'older-1.0.0.tgz')]);
});

it('orders serves as they are answered: a tarball stored slowly cannot make a later one look older', async () => {
  const cache = new TarballCache(storage, 15 * KIB);
  // a is served, and its store settles late: only after b has been served and stored.
  store('a', 'a-1.0.0.tgz', 10 * KIB);
  cache.serving('a', 'a-1.0.0.tgz');
  store('b', 'b-1.0.0.tgz', 10 * KIB);
  cache.serving('b', 'b-1.0.0.tgz');

  // a settles first, while b is still settling: b is the most recent serve and is not evicted.
  expect(await cache.settle('a', 'a-1.0.0.tgz')).toEqual([]);
  expect(await cache.settle('b', 'b-1.0.0.tgz')).toEqual([path.join('a', 'a-1.0.0.tgz')]);
  expect([stored('a', 'a-1.0.0.tgz'), stored('b', 'b-1.0.0.tgz')]).toEqual([false, true]);
});

it('counts a tarball served many times once', async () => {
  const cache = new TarballCache(storage, 25 * KIB);
  store('a', 'a-1.0.0.tgz', 10 * KIB);
  store('b', 'b-1.0.0.tgz', 10 * KIB);
  for (let i = 0; i < 5; i++) expect(await cache.settle('a', 'a-1.0.0.tgz')).toEqual([]);
  expect(await cache.settle('b', 'b-1.0.0.tgz')).toEqual([]);
  expect([stored('a', 'a-1.0.0.tgz'), stored('b', 'b-1.0.0.tgz')]).toEqual([true, true]);
});
