/**
 * The sandbox's registry path on an execution host: one read-only, caching npm mirror shared by every run and campaign.
 *
 * Verdaccio (a maintained registry server) does the registry work: it fetches from the configured upstreams with the
 * host's TLS trust, keeps metadata for a short time to live and tarballs for good, and answers from its cache when an
 * upstream is down. In front of it, on the port sandboxes reach, a guard adds what Verdaccio does not promise:
 * - reads only (GET/HEAD, no registration, login, publish or token endpoint), whatever Verdaccio's own config says;
 * - a tarball is served only after its bytes match the integrity its metadata gives; a corrupt cached copy is
 *   deleted and fetched again, never served;
 * - the cache is bounded: past `maxBytes`, the least recently served tarballs are evicted.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { registryWriteRefusal } from './read-only';

export interface MirrorUpstreams {
  /** Where every package not matched by a scope comes from (the host's `npm config get registry`). */
  default: string;
  /** `@scope` → registry URL, e.g. a fleet's internal registry. */
  scopes: Record<string, string>;
}

export interface MirrorSettings {
  dir: string;
  upstreams: MirrorUpstreams;
  /** How long package metadata is trusted before Verdaccio asks the upstream again. */
  metadataMaxAge: string;
  maxBytes: number;
}

export function mirrorStorage(dir: string): string {
  return path.join(dir, 'storage');
}

/** Verdaccio's configuration: uplinks per upstream, nobody may publish or register, everything may be read. */
export function verdaccioConfig(settings: MirrorSettings): string {
  const uplink = (url: string) =>
    `{ url: ${JSON.stringify(url)}, maxage: ${settings.metadataMaxAge}, timeout: 30s, max_fails: 2, fail_timeout: 1m, cache: true }`;
  const scopes = Object.entries(settings.upstreams.scopes);
  const lines = [
    `storage: ${JSON.stringify(mirrorStorage(settings.dir))}`,
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(path.join(settings.dir, 'htpasswd'))}`,
    '    max_users: -1',
    'uplinks:',
    `  upstream: ${uplink(settings.upstreams.default)}`,
    ...scopes.map(([, url], i) => `  scope${i}: ${uplink(url)}`),
    'packages:',
    ...scopes.flatMap(([scope], i) => [
      `  '${scope}/*':`,
      '    access: $all',
      '    publish: nobody',
      '    unpublish: nobody',
      `    proxy: scope${i}`,
    ]),
    "  '**':",
    '    access: $all',
    '    publish: nobody',
    '    unpublish: nobody',
    '    proxy: upstream',
    'server: { keepAliveTimeout: 60 }',
    'log: { type: stdout, format: pretty, level: warn }',
    '',
  ];
  return lines.join('\n');
}

/** `/@scope/name/-/name-1.0.0.tgz` or `/@scope%2fname/-/…` or `/name/-/name-1.0.0.tgz` → package and file. */
export function tarballRequest(urlPath: string): { name: string; file: string } | undefined {
  const decoded = decodeURIComponent(urlPath.split('?')[0] ?? '');
  const match = /^\/((?:@[^/]+\/)?[^/@][^/]*)\/-\/(?:@[^/]+\/)?([^/]+\.tgz)$/.exec(decoded);
  if (!match || match[1]!.includes('..') || match[2]!.includes('..')) return undefined;
  return { name: match[1]!, file: match[2]! };
}

/** The integrity the stored metadata gives for one tarball: `sha512-…` (or a legacy sha1 hex). */
export function expectedIntegrity(
  storage: string,
  name: string,
  file: string,
): { algorithm: string; digest: string; encoding: 'base64' | 'hex' } | undefined {
  let meta: { versions?: Record<string, { dist?: { tarball?: string; integrity?: string; shasum?: string } }> };
  try {
    meta = JSON.parse(fs.readFileSync(path.join(storage, name, 'package.json'), 'utf8'));
  } catch {
    return undefined;
  }
  for (const version of Object.values(meta.versions ?? {})) {
    const dist = version.dist;
    if (!dist?.tarball || path.posix.basename(new URL(dist.tarball, 'http://x/').pathname) !== file) continue;
    const sri = dist.integrity?.split(/\s+/).find((s) => s.startsWith('sha512-')) ?? dist.integrity?.split(/\s+/)[0];
    if (sri) {
      const dash = sri.indexOf('-');
      return { algorithm: sri.slice(0, dash), digest: sri.slice(dash + 1), encoding: 'base64' };
    }
    if (dist.shasum) return { algorithm: 'sha1', digest: dist.shasum, encoding: 'hex' };
  }
  return undefined;
}

function matches(body: Buffer, expected: NonNullable<ReturnType<typeof expectedIntegrity>>): boolean {
  return createHash(expected.algorithm).update(body).digest(expected.encoding) === expected.digest;
}

/**
 * Least-recently-served eviction over the stored tarballs. The guard sets atime on every serve, which carries the
 * order across restarts; within one process the order of serves is kept in memory as well, because a filesystem's
 * timestamps may be too coarse (whole seconds, say) to tell two serves apart.
 *
 * Sizes are kept per file (one scan, then one stat per serve), so a tarball already seen is never counted twice.
 * A serve is ordered when it is answered (`serving`), not when Verdaccio has finished storing it, and a tarball whose
 * serve is still settling is never evicted: a slow store of one tarball cannot make a later one look older.
 */
export class TarballCache {
  private sizes?: Map<string, number>;
  private total = 0;
  private readonly served = new Map<string, number>();
  private readonly settling = new Map<string, number>();
  private serves = 0;

  constructor(
    private readonly storage: string,
    private readonly maxBytes: number,
  ) {}

  /** Orders a serve as it is answered; `settle` follows once the tarball is stored. */
  serving(name: string, file: string): void {
    const full = path.join(this.storage, name, file);
    this.served.delete(full);
    this.served.set(full, ++this.serves);
    this.settling.set(full, (this.settling.get(full) ?? 0) + 1);
  }

  /**
   * Once Verdaccio has stored the tarball (it finishes a first-time tarball after answering; waited for a little):
   * marks it served, counts it, and evicts down to 90% of the bound when the bound is exceeded. Returns what was evicted.
   */
  async settle(name: string, file: string): Promise<string[]> {
    const full = path.join(this.storage, name, file);
    if (!this.settling.has(full)) this.serving(name, file);
    try {
      for (let waited = 0; !this.has(name, file) && waited < 5_000; waited += 50)
        await new Promise((resolve) => setTimeout(resolve, 50));
      this.touch(full);
      return this.evictOver(full);
    } finally {
      const left = (this.settling.get(full) ?? 1) - 1;
      if (left > 0) this.settling.set(full, left);
      else this.settling.delete(full);
    }
  }

  private touch(full: string): void {
    try {
      const stat = fs.statSync(full);
      fs.utimesSync(full, new Date(), stat.mtime);
      this.count(full, stat.size);
    } catch {
      // Verdaccio may still be writing it; the next serve touches it.
    }
  }

  private count(full: string, size: number | undefined): void {
    if (!this.sizes) {
      this.sizes = new Map(this.scan().map((f) => [f.path, f.size]));
      this.total = [...this.sizes.values()].reduce((sum, n) => sum + n, 0);
    }
    this.total -= this.sizes.get(full) ?? 0;
    if (size === undefined) this.sizes.delete(full);
    else {
      this.sizes.set(full, size);
      this.total += size;
    }
  }

  /**
   * Least recently served first (tarballs not served since this process started come first, by atime); never the
   * tarball just settled, nor one whose serve is still settling.
   */
  private evictOver(justAdded: string): string[] {
    if (this.total <= this.maxBytes) return [];
    const files = this.scan().sort(
      (a, b) => (this.served.get(a.path) ?? 0) - (this.served.get(b.path) ?? 0) || a.atimeMs - b.atimeMs,
    );
    const evicted: string[] = [];
    for (const f of files) {
      if (this.total <= this.maxBytes * 0.9) break;
      if (f.path === justAdded || this.settling.has(f.path)) continue;
      fs.rmSync(f.path, { force: true });
      this.served.delete(f.path);
      this.count(f.path, undefined);
      evicted.push(path.relative(this.storage, f.path));
    }
    return evicted;
  }

  has(name: string, file: string): boolean {
    return fs.existsSync(path.join(this.storage, name, file));
  }

  remove(name: string, file: string): void {
    const full = path.join(this.storage, name, file);
    fs.rmSync(full, { force: true });
    if (this.sizes) this.count(full, undefined);
  }

  private scan(): Array<{ path: string; size: number; atimeMs: number }> {
    const found: Array<{ path: string; size: number; atimeMs: number }> = [];
    const visit = (dir: string) => {
      for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) visit(full);
        else if (entry.name.endsWith('.tgz')) {
          const stat = fs.statSync(full);
          found.push({ path: full, size: stat.size, atimeMs: stat.atimeMs });
        }
      }
    };
    visit(this.storage);
    return found;
  }
}

export interface MirrorGuard {
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

/** The guard in front of Verdaccio: reads only, verified tarballs, bounded cache. */
export async function startMirrorGuard(options: {
  verdaccioUrl: string;
  storage: string;
  maxBytes: number;
  host: string;
  port: number;
  log?: (line: string) => void;
}): Promise<MirrorGuard> {
  const upstream = new URL(options.verdaccioUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const cache = new TarballCache(options.storage, options.maxBytes);
  const log = options.log ?? (() => undefined);

  const forward = (req: http.IncomingMessage, buffer: boolean) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body?: Buffer; stream?: http.IncomingMessage }>(
      (resolve, reject) => {
        const headers = { ...req.headers };
        delete headers['accept-encoding'];
        const request = http.request(
          { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers, agent },
          (answer) => {
            if (!buffer) return resolve({ status: answer.statusCode ?? 502, headers: answer.headers, stream: answer });
            const chunks: Buffer[] = [];
            answer.on('data', (c: Buffer) => chunks.push(c));
            answer.on('end', () =>
              resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }),
            );
            answer.on('error', reject);
          },
        );
        request.on('error', reject);
        request.end();
      },
    );

  const serveTarball = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    tarball: { name: string; file: string },
  ) => {
    for (let round = 1; round <= 2; round++) {
      const answer = await forward(req, true);
      if (answer.status !== 200 || req.method === 'HEAD') return send(res, answer.status, answer.headers, answer.body);
      const expected = expectedIntegrity(options.storage, tarball.name, tarball.file);
      if (!expected)
        return fail(
          res,
          502,
          `${tarball.name}/${tarball.file}: no integrity in the mirror's metadata to check it against`,
        );
      if (matches(answer.body!, expected)) {
        cache.serving(tarball.name, tarball.file);
        send(res, 200, answer.headers, answer.body);
        // Verdaccio finishes writing a first-time tarball after it answered; account for it once it is there.
        void cache.settle(tarball.name, tarball.file).then((evicted) => {
          if (evicted.length > 0) log(`evicted ${evicted.length} least recently used tarball(s)`);
        });
        return;
      }
      log(
        `${tarball.name}/${tarball.file} does not match its ${expected.algorithm} integrity; deleting the cached copy (round ${round})`,
      );
      cache.remove(tarball.name, tarball.file);
    }
    return fail(
      res,
      502,
      `${tarball.name}/${tarball.file} does not match the integrity its metadata gives, even fetched again from the upstream`,
    );
  };

  // Several runs asking at once for a tarball not yet cached: the first fetches it upstream, the rest wait until it is
  // stored and are served from the cache (Verdaccio alone would fetch it upstream once per request).
  const firstFetches = new Map<string, Promise<void>>();
  const singleFlight = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    tarball: { name: string; file: string },
  ) => {
    const key = `${tarball.name}/${tarball.file}`;
    const inFlight = firstFetches.get(key);
    if (inFlight) await inFlight;
    if (req.method !== 'GET' || cache.has(tarball.name, tarball.file) || firstFetches.has(key))
      return serveTarball(req, res, tarball);
    const first = (async () => {
      await serveTarball(req, res, tarball);
      for (let waited = 0; !cache.has(tarball.name, tarball.file) && waited < 5_000; waited += 50)
        await new Promise((resolve) => setTimeout(resolve, 50));
    })();
    const done = first.catch(() => undefined);
    firstFetches.set(key, done);
    try {
      await first;
    } finally {
      firstFetches.delete(key);
    }
  };

  const server = http.createServer((req, res) => {
    const refusal = registryWriteRefusal(req.method, req.url ?? '/');
    if (refusal) {
      req.resume().once('end', () => fail(res, 403, refusal));
      return;
    }
    const tarball = tarballRequest(req.url ?? '/');
    const work = tarball
      ? singleFlight(req, res, tarball)
      : forward(req, false).then((answer) => {
          res.writeHead(answer.status, answer.headers);
          answer.stream!.pipe(res);
        });
    work.catch((err: Error) => fail(res, 502, `the mirror's registry server did not answer: ${err.message}`));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://${options.host}:${port}/`,
    server,
    close: () =>
      new Promise((resolve) => {
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}

function send(res: http.ServerResponse, status: number, headers: http.IncomingHttpHeaders, body?: Buffer): void {
  const out = { ...headers };
  delete out['transfer-encoding'];
  if (body) out['content-length'] = String(body.length);
  res.writeHead(status, out).end(body);
}

function fail(res: http.ServerResponse, status: number, error: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify({ error })}\n`);
}
