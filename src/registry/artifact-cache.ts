/**
 * A host-side cache of immutable registry artifacts for the egress proxy's read-only route (`/upstream/<name>/…`), for
 * ecosystems without a mirror server of ours (the Go module proxy, Maven repositories): a version's `.mod`, `.zip` and
 * `.info`, a Maven release's files. Each ecosystem says which of its paths are immutable and how the protocol lets one
 * be checked (Maven's `.sha1` beside every file); lists, `latest`, `maven-metadata.xml` and `-SNAPSHOT` files are
 * never cached, so a sandbox always sees what the upstream says now.
 *
 * Entries live under REGATTA_HOME (never mounted into a sandbox), each with a sidecar of its size and sha256 written
 * at fetch: an entry whose bytes no longer match is deleted and fetched again, never served. The cache is bounded:
 * past `maxBytes`, the least recently served entries go. Concurrent misses of one path make one upstream fetch.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** How an ecosystem's immutable artifact is checked: the path of the checksum file the upstream serves beside it. */
export interface ImmutableArtifact {
  checksum?: { path: string; algorithm: 'sha1' | 'sha256' | 'md5' };
}

/** What the upstream answered for one path. */
export interface UpstreamAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface CachedArtifact {
  body: Buffer;
  contentType?: string;
  /** `hit`: served from the cache; `miss`: fetched upstream (and kept when it passed its check). */
  from: 'hit' | 'miss';
}

interface Sidecar {
  size: number;
  sha256: string;
  contentType?: string;
  /** The upstream's own checksum of the file, where the protocol gives one, as checked at fetch. */
  upstreamChecksum?: string;
}

export class ArtifactCacheError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArtifactCacheError';
  }
}

export class UpstreamArtifactCache {
  private readonly inFlight = new Map<string, Promise<CachedArtifact | UpstreamAnswer>>();
  private order = 0;
  private readonly served = new Map<string, number>();

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** The file an artifact of `registry` at `artifactPath` is kept in; undefined for a path that would leave the cache. */
  entryPath(registry: string, artifactPath: string): string | undefined {
    const clean = artifactPath.split('?')[0] ?? '';
    if (!/^[a-z0-9-]+$/.test(registry) || clean.split('/').some((part) => part === '..' || part === '.'))
      return undefined;
    const full = path.join(this.dir, registry, clean);
    return full.startsWith(path.join(this.dir, registry) + path.sep) ? full : undefined;
  }

  /**
   * The artifact from the cache when its bytes still match their sidecar; else fetched with `fetchUpstream`, checked
   * against the upstream's checksum where there is one, and kept. A non-200 answer is passed back as it came.
   */
  async get(
    registry: string,
    artifactPath: string,
    artifact: ImmutableArtifact,
    fetchUpstream: (upstreamPath: string) => Promise<UpstreamAnswer>,
  ): Promise<CachedArtifact | UpstreamAnswer> {
    const entry = this.entryPath(registry, artifactPath);
    if (!entry) return fetchUpstream(artifactPath);
    const cached = this.read(entry);
    if (cached) return cached;
    const pending = this.inFlight.get(entry);
    if (pending) return pending.then((answer) => ('from' in answer ? { ...answer, from: 'hit' as const } : answer));
    const fetching = this.fetchAndKeep(entry, artifactPath, artifact, fetchUpstream);
    this.inFlight.set(entry, fetching);
    try {
      return await fetching;
    } finally {
      this.inFlight.delete(entry);
    }
  }

  private read(entry: string): CachedArtifact | undefined {
    let sidecar: Sidecar;
    let body: Buffer;
    try {
      sidecar = JSON.parse(fs.readFileSync(`${entry}.regatta.json`, 'utf8')) as Sidecar;
      body = fs.readFileSync(entry);
    } catch {
      return undefined;
    }
    if (body.length !== sidecar.size || sha256(body) !== sidecar.sha256) {
      this.log(`${entry} does not match the size and sha256 it was stored with; deleting it and fetching it again`);
      this.remove(entry);
      return undefined;
    }
    this.touch(entry);
    return { body, contentType: sidecar.contentType, from: 'hit' };
  }

  private async fetchAndKeep(
    entry: string,
    artifactPath: string,
    artifact: ImmutableArtifact,
    fetchUpstream: (upstreamPath: string) => Promise<UpstreamAnswer>,
  ): Promise<CachedArtifact | UpstreamAnswer> {
    const answer = await fetchUpstream(artifactPath);
    if (answer.status !== 200) return answer;
    let upstreamChecksum: string | undefined;
    if (artifact.checksum) {
      const sum = await fetchUpstream(artifact.checksum.path);
      // The checksum file's first word is the digest (Maven writes `<hex>` or `<hex>  <file>`).
      upstreamChecksum =
        sum.status === 200 ? /^\s*([0-9a-f]+)/i.exec(sum.body.toString('utf8'))?.[1]?.toLowerCase() : undefined;
      const actual = createHash(artifact.checksum.algorithm).update(answer.body).digest('hex');
      if (upstreamChecksum && upstreamChecksum !== actual)
        throw new ArtifactCacheError(
          `${artifactPath}: the upstream's ${artifact.checksum.algorithm} is ${upstreamChecksum} but the file it served hashes to ${actual}`,
        );
    }
    const contentType = header(answer.headers['content-type']);
    const sidecar: Sidecar = {
      size: answer.body.length,
      sha256: sha256(answer.body),
      ...(contentType ? { contentType } : {}),
      ...(upstreamChecksum ? { upstreamChecksum } : {}),
    };
    this.write(entry, answer.body, sidecar);
    return { body: answer.body, contentType, from: 'miss' };
  }

  private write(entry: string, body: Buffer, sidecar: Sidecar): void {
    fs.mkdirSync(path.dirname(entry), { recursive: true });
    const staging = `${entry}.${process.pid}.${Date.now()}.partial`;
    fs.writeFileSync(staging, body);
    fs.renameSync(staging, entry);
    fs.writeFileSync(`${entry}.regatta.json`, JSON.stringify(sidecar));
    this.touch(entry);
    this.evictOver(entry);
  }

  private touch(entry: string): void {
    this.served.delete(entry);
    this.served.set(entry, ++this.order);
    const now = new Date();
    try {
      fs.utimesSync(entry, now, fs.statSync(entry).mtime);
    } catch {
      // Evicted meanwhile; the next request fetches it again.
    }
  }

  private remove(entry: string): void {
    fs.rmSync(entry, { force: true });
    fs.rmSync(`${entry}.regatta.json`, { force: true });
    this.served.delete(entry);
  }

  /** Least recently served first (this process's order, then atime across restarts), down to 90% of the bound. */
  private evictOver(justAdded: string): void {
    const entries = this.scan();
    let total = entries.reduce((sum, e) => sum + e.size, 0);
    if (total <= this.maxBytes) return;
    entries.sort((a, b) => (this.served.get(a.path) ?? 0) - (this.served.get(b.path) ?? 0) || a.atimeMs - b.atimeMs);
    let evicted = 0;
    for (const e of entries) {
      if (total <= this.maxBytes * 0.9) break;
      if (e.path === justAdded) continue;
      this.remove(e.path);
      total -= e.size;
      evicted++;
    }
    if (evicted > 0) this.log(`evicted ${evicted} least recently served registry artifact(s)`);
  }

  private scan(): { path: string; size: number; atimeMs: number }[] {
    const found: { path: string; size: number; atimeMs: number }[] = [];
    const visit = (dir: string) => {
      for (const e of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) visit(full);
        else if (!e.name.endsWith('.regatta.json') && !e.name.endsWith('.partial')) {
          const stat = fs.statSync(full);
          found.push({ path: full, size: stat.size, atimeMs: stat.atimeMs });
        }
      }
    };
    visit(this.dir);
    return found;
  }
}

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

const DEFAULT_MAX_BYTES = 5 * 1024 ** 3;

/** The cache at REGATTA_REGISTRY_CACHE_DIR, else <REGATTA_HOME>/registry-cache, bounded by REGATTA_REGISTRY_CACHE_MAX_BYTES. */
export function artifactCacheFromEnv(
  env: NodeJS.ProcessEnv,
  defaultHome: string,
  log?: (line: string) => void,
): UpstreamArtifactCache {
  const raw = env.REGATTA_REGISTRY_CACHE_MAX_BYTES;
  const maxBytes = raw === undefined || raw === '' ? DEFAULT_MAX_BYTES : Number(raw);
  if (!Number.isInteger(maxBytes) || maxBytes <= 0)
    throw new ArtifactCacheError(
      `REGATTA_REGISTRY_CACHE_MAX_BYTES is "${raw}"; expected a positive whole number of bytes`,
    );
  const dir = env.REGATTA_REGISTRY_CACHE_DIR ?? path.join(env.REGATTA_HOME ?? defaultHome, 'registry-cache');
  return new UpstreamArtifactCache(path.resolve(dir), maxBytes, log);
}
