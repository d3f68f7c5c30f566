/**
 * The execution host's cache of repository objects: one bare mirror per remote under `<home>/git-cache`
 * (packs, their indexes, the refs last fetched, and a spare checkout of the commit last checked out), never
 * mounted into a sandbox. An entry is used only under its lock, is verified (pack and index checksums, each object's
 * SHA-1 as it is read) and dropped whole when any check fails; the cache as a whole, spare checkouts included,
 * stays under its byte bound by evicting the least recently used entries.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { lock, tryLock } from './file-lock';
import {
  CorruptPackError,
  objectId,
  readPackedObject,
  verifyPackChecksum,
  type GitObject,
  type ParsedPack,
} from './pack';
import { PackIndex, writePackIndex } from './pack-index';
import { PristineCheckout } from './pristine';

const META = 'regatta-mirror.json';
const LOCK_TIMEOUT_MS = 10 * 60_000;

const OID = z.string().regex(/^[0-9a-f]{40}$/, 'a 40-hex-digit object id');
/** What the entry records beside its packs; a file that does not parse is treated as absent, never trusted. */
const MirrorMetaSchema = z.object({
  url: z.string(),
  refs: z.record(z.string(), OID),
  shallow: z.array(OID),
  lastUsedMs: z.number().nonnegative(),
});
type MirrorMeta = z.infer<typeof MirrorMetaSchema>;

interface LoadedPack {
  name: string;
  pack: Buffer;
  index: PackIndex;
  objects: Map<number, GitObject>;
}

export class MirrorCache {
  constructor(
    readonly root: string,
    readonly maxBytes: number,
  ) {}

  /** Runs `use` with the remote's entry locked; other runs of the same repository on this host wait. */
  async withMirror<T>(url: string, use: (mirror: Mirror) => Promise<T>, known?: Map<string, GitObject>): Promise<T> {
    fs.mkdirSync(this.root, { recursive: true });
    const key = mirrorKey(url);
    const held = await lock(path.join(this.root, `${key}.lock`), LOCK_TIMEOUT_MS);
    try {
      const mirror = new Mirror(path.join(this.root, key), url, known);
      const result = await use(mirror);
      mirror.touch();
      return result;
    } finally {
      held.release();
    }
  }

  /** Evicts least recently used entries (never `keepUrl`'s) until the cache fits; locked entries are skipped. */
  evict(keepUrl?: string): void {
    if (!fs.existsSync(this.root)) return;
    const keep = keepUrl ? mirrorKey(keepUrl) : undefined;
    const entries = fs
      .readdirSync(this.root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => ({ key: e.name, dir: path.join(this.root, e.name) }))
      .map((e) => ({ ...e, bytes: directoryBytes(e.dir), lastUsedMs: readMeta(e.dir)?.lastUsedMs ?? 0 }));
    let total = entries.reduce((sum, e) => sum + e.bytes, 0);
    for (const victim of entries.sort((a, b) => a.lastUsedMs - b.lastUsedMs)) {
      if (total <= this.maxBytes) break;
      if (victim.key === keep) continue;
      const held = tryLock(path.join(this.root, `${victim.key}.lock`));
      if (!held) continue;
      try {
        fs.rmSync(victim.dir, { recursive: true, force: true });
        total -= victim.bytes;
      } finally {
        held.release();
      }
    }
  }
}

/** One remote's mirror; use it only inside MirrorCache.withMirror. */
export class Mirror {
  private meta: MirrorMeta;
  private packs: LoadedPack[] = [];
  private spareCheckout: PristineCheckout | undefined;
  /** Objects already read and verified (or parsed from a fetched pack), by id. */
  private known: Map<string, GitObject>;

  /** `known`: objects already verified (by their SHA-1) by an earlier use of the entry in this process. */
  constructor(
    readonly dir: string,
    readonly url: string,
    known = new Map<string, GitObject>(),
  ) {
    this.meta = readMeta(dir) ?? emptyMeta(url);
    this.known = known;
  }

  /** The objects read and verified so far, which a later use in this process may start from. */
  get verifiedObjects(): Map<string, GitObject> {
    return this.known;
  }

  get packDir(): string {
    return path.join(this.dir, 'objects', 'pack');
  }

  get refs(): Record<string, string> {
    return this.meta.refs;
  }

  /** A checkout the next clone takes whole (see src/git/pristine.ts); its files count towards the cache's bound. */
  get spare(): PristineCheckout {
    this.spareCheckout ??= new PristineCheckout(path.join(this.dir, 'spare'));
    return this.spareCheckout;
  }

  get packCount(): number {
    return this.packs.length;
  }

  /** Opens and verifies every pack; a damaged entry is dropped and false returned, so the caller fetches afresh. */
  open(): boolean {
    if (!fs.existsSync(this.packDir)) return true;
    try {
      for (const file of fs
        .readdirSync(this.packDir)
        .filter((f) => f.endsWith('.pack'))
        .sort()) {
        const name = file.slice(0, -'.pack'.length);
        const label = `git cache ${path.join(this.packDir, file)}`;
        const pack = fs.readFileSync(path.join(this.packDir, file));
        const checksum = verifyPackChecksum(pack, label);
        const index = PackIndex.open(fs.readFileSync(path.join(this.packDir, `${name}.idx`)), label);
        if (index.packChecksum !== checksum) throw new CorruptPackError(`${label}: its index describes another pack`);
        this.packs.push({ name, pack, index, objects: new Map() });
      }
      return true;
    } catch (err) {
      if (!(err instanceof CorruptPackError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.drop();
      return false;
    }
  }

  /** Forgets everything this entry held. */
  drop(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
    this.meta = emptyMeta(this.url);
    this.packs = [];
    this.known = new Map();
    this.spareCheckout = undefined;
  }

  /** Whether the entry's packs hold `oid` (what a workspace's git directory will link to). */
  has(oid: string): boolean {
    return this.packs.some((p) => p.index.offsetOf(oid) !== undefined);
  }

  /** Stores a fetched, parsed pack; its objects stay in memory for the checkout that follows. */
  addPack(raw: Buffer, parsed: ParsedPack, shallow: string[]): void {
    fs.mkdirSync(this.packDir, { recursive: true });
    const name = `pack-${parsed.checksum}`;
    const index = writePackIndex(parsed.objects, parsed.checksum);
    // Index last, each through a rename: a pack without its index is never read, a torn one never seen.
    for (const [file, bytes] of [
      [`${name}.pack`, raw],
      [`${name}.idx`, index],
    ] as const) {
      const staging = path.join(this.packDir, `.${file}.${process.pid}.tmp`);
      fs.writeFileSync(staging, bytes);
      fs.renameSync(staging, path.join(this.packDir, file));
    }
    this.packs.push({ name, pack: raw, index: PackIndex.open(index, name), objects: new Map() });
    for (const object of parsed.objects) this.known.set(object.oid, object);
    this.meta.shallow = [...new Set([...this.meta.shallow, ...shallow])];
  }

  setRef(name: string, oid: string): void {
    this.meta.refs[name] = oid;
  }

  /** The object named `oid`, its SHA-1 checked; a missing or mismatching object means a corrupt entry. */
  read(oid: string): GitObject {
    const known = this.known.get(oid);
    if (known) return known;
    for (const packed of this.packs) {
      const offset = packed.index.offsetOf(oid);
      if (offset === undefined) continue;
      const object = readPackedObject(
        packed.pack,
        offset,
        packed.name,
        (base) => this.readOrUndefined(base),
        packed.objects,
      );
      if (objectId(object.type, object.data) !== oid)
        throw new CorruptPackError(`git cache ${packed.name}: object ${oid} does not match its SHA-1`);
      this.known.set(oid, object);
      return object;
    }
    throw new CorruptPackError(`git cache for ${redact(this.url)} lacks object ${oid}`);
  }

  /** The pack and index files, for a workspace's git directory to link to. */
  packFiles(): string[] {
    return this.packs.flatMap((p) => [`${p.name}.pack`, `${p.name}.idx`].map((f) => path.join(this.packDir, f)));
  }

  touch(): void {
    if (!fs.existsSync(this.dir)) return;
    this.meta.lastUsedMs = Date.now();
    const staging = path.join(this.dir, `.${META}.${process.pid}.tmp`);
    fs.writeFileSync(staging, JSON.stringify(this.meta));
    fs.renameSync(staging, path.join(this.dir, META));
    fs.writeFileSync(path.join(this.dir, 'shallow'), this.meta.shallow.map((oid) => `${oid}\n`).join(''));
  }

  private readOrUndefined(oid: string): GitObject | undefined {
    try {
      return this.read(oid);
    } catch {
      return undefined;
    }
  }
}

/** One directory per remote, named by a hash of its URL without credentials. */
export function mirrorKey(url: string): string {
  return crypto.createHash('sha256').update(redact(url)).digest('hex').slice(0, 32);
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url;
  }
}

function emptyMeta(url: string): MirrorMeta {
  return { url: redact(url), refs: {}, shallow: [], lastUsedMs: 0 };
}

function readMeta(dir: string): MirrorMeta | undefined {
  try {
    const parsed = MirrorMetaSchema.safeParse(JSON.parse(fs.readFileSync(path.join(dir, META), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).size;
  }
  return total;
}
