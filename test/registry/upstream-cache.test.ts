/**
 * The egress proxy's read-only route keeps immutable Go and Maven artifacts in a host-side cache: a second fetch of a
 * released version's file is served without asking the upstream, a cached file whose bytes changed on disk is fetched
 * again, a Maven file that does not match the `.sha1` beside it is refused, and lists, `maven-metadata.xml` and
 * `-SNAPSHOT` files always go to the upstream.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { goRegistry } from '../../src/ecosystems/go/registry';
import { mavenRegistry } from '../../src/ecosystems/maven/registry';
import { UpstreamArtifactCache } from '../../src/registry/artifact-cache';
import { startEgressProxy, type EgressProxy } from '../../src/sandbox/egress';

interface Upstream {
  url: string;
  asked: string[];
  files: Map<string, Buffer>;
  close(): Promise<void>;
}

/** A registry on loopback serving `files` by path and recording every path it is asked for. */
async function registryServing(files: Map<string, Buffer>): Promise<Upstream> {
  const asked: string[] = [];
  const server = http.createServer((req, res) => {
    asked.push(req.url ?? '');
    const body = files.get(req.url ?? '');
    if (!body) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    asked,
    files,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function get(origin: string, route: string): Promise<{ status: number; body: Buffer; cache?: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${origin}${route}`, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks),
            cache: res.headers['x-regatta-cache'] as string | undefined,
          }),
        );
      })
      .on('error', reject);
  });
}

const sha1 = (body: Buffer) => createHash('sha1').update(body).digest('hex');

describe('the host-side cache of immutable registry artifacts', () => {
  const jar = Buffer.from('PK release jar bytes');
  const zip = Buffer.from('PK module zip bytes');
  let goProxy: Upstream;
  let maven: Upstream;
  let proxy: EgressProxy;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-artifact-cache-'));
    goProxy = await registryServing(
      new Map([
        ['/goproxy/example.test/mod/@v/v1.2.3.zip', zip],
        ['/goproxy/example.test/mod/@v/v1.2.3.mod', Buffer.from('module example.test/mod\n')],
        ['/goproxy/example.test/mod/@v/list', Buffer.from('v1.2.3\n')],
        ['/goproxy/example.test/mod/@latest', Buffer.from('{"Version":"v1.2.3"}')],
      ]),
    );
    maven = await registryServing(
      new Map([
        ['/m2/org/acme/lib/1.0/lib-1.0.jar', jar],
        ['/m2/org/acme/lib/1.0/lib-1.0.jar.sha1', Buffer.from(sha1(jar))],
        ['/m2/org/acme/bad/1.0/bad-1.0.jar', Buffer.from('tampered')],
        ['/m2/org/acme/bad/1.0/bad-1.0.jar.sha1', Buffer.from(`${sha1(Buffer.from('original'))}  bad-1.0.jar`)],
        ['/m2/org/acme/lib/maven-metadata.xml', Buffer.from('<metadata/>')],
        ['/m2/org/acme/lib/1.1-SNAPSHOT/lib-1.1-20260101.010101-1.jar', Buffer.from('snapshot')],
      ]),
    );
    proxy = await startEgressProxy(
      '127.0.0.1',
      new Set(),
      [
        {
          name: 'go',
          url: `${goProxy.url}/goproxy`,
          sandboxEnv: () => ({}),
          immutableArtifact: goRegistry.immutableArtifact,
        },
        {
          name: 'maven',
          url: `${maven.url}/m2/`,
          sandboxEnv: () => ({}),
          immutableArtifact: mavenRegistry.immutableArtifact,
        },
      ],
      new UpstreamArtifactCache(dir, 1024 ** 2),
    );
  });
  afterAll(async () => {
    await proxy.close();
    await goProxy.close();
    await maven.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const count = (upstream: Upstream, p: string) => upstream.asked.filter((a) => a === p).length;

  it('serves a Go module version the second time from the cache, without asking the upstream', async () => {
    const first = await get(proxy.url, '/upstream/go/example.test/mod/@v/v1.2.3.zip');
    const second = await get(proxy.url, '/upstream/go/example.test/mod/@v/v1.2.3.zip');
    expect([first.status, first.cache, second.status, second.cache]).toEqual([200, 'miss', 200, 'hit']);
    expect(second.body.equals(zip)).toBe(true);
    expect(count(goProxy, '/goproxy/example.test/mod/@v/v1.2.3.zip')).toBe(1);
  });

  it('fetches a cached file again when its bytes on disk no longer match', async () => {
    await get(proxy.url, '/upstream/go/example.test/mod/@v/v1.2.3.mod');
    fs.writeFileSync(path.join(dir, 'go', 'example.test/mod/@v/v1.2.3.mod'), 'module evil.test/mod\n');
    const again = await get(proxy.url, '/upstream/go/example.test/mod/@v/v1.2.3.mod');
    expect(again.body.toString()).toBe('module example.test/mod\n');
    expect(again.cache).toBe('miss');
    expect(count(goProxy, '/goproxy/example.test/mod/@v/v1.2.3.mod')).toBe(2);
  });

  it('never caches version lists or @latest', async () => {
    for (let i = 0; i < 2; i++) {
      await get(proxy.url, '/upstream/go/example.test/mod/@v/list');
      await get(proxy.url, '/upstream/go/example.test/mod/@latest');
    }
    expect(count(goProxy, '/goproxy/example.test/mod/@v/list')).toBe(2);
    expect(count(goProxy, '/goproxy/example.test/mod/@latest')).toBe(2);
  });

  it('keeps a Maven release file checked against its .sha1, and serves it from the cache after', async () => {
    const first = await get(proxy.url, '/upstream/maven/org/acme/lib/1.0/lib-1.0.jar');
    const second = await get(proxy.url, '/upstream/maven/org/acme/lib/1.0/lib-1.0.jar');
    expect([first.cache, second.cache]).toEqual(['miss', 'hit']);
    expect(second.body.equals(jar)).toBe(true);
    expect(count(maven, '/m2/org/acme/lib/1.0/lib-1.0.jar')).toBe(1);
    expect(count(maven, '/m2/org/acme/lib/1.0/lib-1.0.jar.sha1')).toBe(1);
  });

  it('refuses a Maven file that does not match the .sha1 the repository gives, and keeps nothing', async () => {
    const answer = await get(proxy.url, '/upstream/maven/org/acme/bad/1.0/bad-1.0.jar');
    expect(answer.status).toBe(502);
    expect(answer.body.toString()).toContain('sha1');
    expect(fs.existsSync(path.join(dir, 'maven', 'org/acme/bad/1.0/bad-1.0.jar'))).toBe(false);
  });

  it('never caches maven-metadata.xml or -SNAPSHOT files', async () => {
    const snapshot = '/org/acme/lib/1.1-SNAPSHOT/lib-1.1-20260101.010101-1.jar';
    for (let i = 0; i < 2; i++) {
      expect((await get(proxy.url, '/upstream/maven/org/acme/lib/maven-metadata.xml')).status).toBe(200);
      expect((await get(proxy.url, `/upstream/maven${snapshot}`)).status).toBe(200);
    }
    expect(count(maven, '/m2/org/acme/lib/maven-metadata.xml')).toBe(2);
    expect(count(maven, `/m2${snapshot}`)).toBe(2);
  });

  it('stays within its bound, evicting the least recently served first', async () => {
    const small = new UpstreamArtifactCache(fs.mkdtempSync(path.join(dir, 'small-')), 100);
    const fetchOf = (size: number) => async () => ({ status: 200, headers: {}, body: Buffer.alloc(size, 1) });
    for (const v of ['v1.0.0', 'v1.0.1', 'v1.0.2']) await small.get('go', `m/@v/${v}.zip`, {}, fetchOf(40));
    const kept = ['v1.0.0', 'v1.0.1', 'v1.0.2'].filter((v) =>
      fs.existsSync(path.join(small.dir, 'go', `m/@v/${v}.zip`)),
    );
    expect(kept).toEqual(['v1.0.1', 'v1.0.2']);
  });
});
