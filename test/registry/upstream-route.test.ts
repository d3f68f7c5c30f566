/**
 * The egress proxy's read-only route to an ecosystem's registry (`/upstream/<name>/…`) reads from that registry and
 * nowhere else: a sandbox cannot make the proxy, which runs on the host with the host's trust, fetch another host
 * (the Web UI, a metadata service) or climb out of the registry's base path.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEgressProxy, upstreamTarget, type EgressProxy } from '../../src/sandbox/egress';

interface Recorder {
  url: string;
  paths: string[];
  close(): Promise<void>;
}

async function recordingServer(answer: string): Promise<Recorder> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/plain' }).end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    paths,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A GET of `path` exactly as written: no client-side resolution of `..` before the proxy sees it. */
function get(origin: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    http
      .get({ hostname, port, path }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('the read-only route to an ecosystem registry', () => {
  let registry: Recorder;
  let elsewhere: Recorder;
  let proxy: EgressProxy;

  beforeAll(async () => {
    registry = await recordingServer('module list');
    elsewhere = await recordingServer('host secrets');
    proxy = await startEgressProxy('127.0.0.1', new Set(), [
      { name: 'go', url: `${registry.url}/goproxy`, sandboxEnv: () => ({}) },
    ]);
  });
  afterAll(async () => {
    await proxy.close();
    await registry.close();
    await elsewhere.close();
  });

  it('reads paths under the registry base', async () => {
    const answer = await get(proxy.url, '/upstream/go/github.com/google/uuid/@v/list');
    expect(answer).toEqual({ status: 200, body: 'module list' });
    expect(registry.paths).toContain('/goproxy/github.com/google/uuid/@v/list');
  });

  // A URL in the path is read as a path inside the registry; a climb above its base is refused.
  it.each([
    ['an absolute URL', (host: string) => `http://${host}/api/v1/namespaces`, 200],
    ['a protocol-relative URL', (host: string) => `//${host}/api/v1/namespaces`, 200],
    ['a climb out of the base', () => '../private/thing', 403],
    ['an encoded climb out of the base', () => '%2e%2e/private/thing', 403],
  ])('keeps %s inside the registry: nothing reaches another host or path', async (_what, rest, status) => {
    const before = registry.paths.length;
    const answer = await get(proxy.url, `/upstream/go/${rest(new URL(elsewhere.url).host)}`);
    expect(elsewhere.paths).toEqual([]);
    expect(registry.paths.slice(before).every((p) => p.startsWith('/goproxy/'))).toBe(true);
    expect(answer.status).toBe(status);
    if (status === 403) expect(answer.body).toContain('outside the go registry');
  });

  it('keeps the host and the base path of the registry for every path', () => {
    const base = 'https://user:secret@registry.example.test/go/';
    expect(upstreamTarget(base, 'a/@v/list')?.href).toBe('https://user:secret@registry.example.test/go/a/@v/list');
    expect(upstreamTarget(base, 'http://169.254.169.254/latest')?.host).toBe('registry.example.test');
    expect(upstreamTarget(base, '//169.254.169.254/latest')?.host).toBe('registry.example.test');
    expect(upstreamTarget(base, '../../etc/passwd')).toBeUndefined();
    expect(upstreamTarget(base, 'a/%2E%2E/%2e%2e/x')).toBeUndefined();
  });
});
