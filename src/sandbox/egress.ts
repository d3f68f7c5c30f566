/**
 * Network profiles for sandboxes. `registry_only`: the container sits on an internal Docker network whose only
 * way out is an egress proxy listening on the host at that network's gateway address, which forwards to the
 * package registries named in configuration and refuses everything else. `full`: Docker's default bridge.
 *
 * Toward a plain-HTTP registry (the host's registry mirror) the proxy lets only reads through: GET and HEAD, and
 * never the registration, login, publish, dist-tag or token endpoints. An HTTPS registry is reached through
 * CONNECT, an opaque tunnel: there, writes are stopped only by the sandbox holding no credentials.
 * Every refusal is kept with the sandbox address it came from, so each run's evidence lists its own.
 *
 * Ecosystems whose registry is an HTTPS upstream without a mirror of ours (the Go module proxy) are served at
 * `<proxy>/upstream/<name>/…`: the proxy itself fetches from the upstream with the host's TLS trust, GET and HEAD only,
 * so the sandbox speaks plain HTTP to the proxy and can neither write to the registry nor reach anything else there.
 * Immutable artifacts on that route (a Go version's files, a Maven release's) come from a host-side cache
 * (src/registry/artifact-cache.ts) after their first fetch.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import type Docker from 'dockerode';
import { PROJECT_ROOT } from '../config';
import type { ExecutionSpec } from '../contracts';
import { hostRegistryUpstreams, type ReadOnlyUpstream } from '../ecosystems';
import { artifactCacheFromEnv, type UpstreamArtifactCache, type UpstreamAnswer } from '../registry/artifact-cache';
import { caBundleFromEnv } from '../registry/ca-bundle';
import { registryWriteRefusal } from '../registry/read-only';
import type { EgressRefusal, SandboxNetwork } from './driver';

export const EGRESS_NETWORK = 'regatta-egress';

export interface EgressOptions {
  /** The registry the sandbox's package manager uses (e.g. from `npm config get registry`). */
  registryUrl: string;
  /** More `host:port` pairs the proxy lets through. */
  extraAllowed?: string[];
  /** Ecosystem registries served read-only at `<proxy>/upstream/<name>/` (absent: those this host's tools configure). */
  upstreams?: ReadOnlyUpstream[];
}

const UPSTREAM_ROUTE = /^\/upstream\/([a-z0-9-]+)(\/.*)?$/;

/**
 * The upstream URL a path under `/upstream/<name>/` reads, or undefined where it would leave the registry: an absolute
 * or protocol-relative URL, or `..` (however encoded) climbing above the registry's base path. Resolved relative to the
 * base, so the base's credentials and host are kept and nothing a sandbox sends can name another host.
 */
export function upstreamTarget(upstreamUrl: string, rest: string): URL | undefined {
  const base = new URL(upstreamUrl.endsWith('/') ? upstreamUrl : `${upstreamUrl}/`);
  let target: URL;
  try {
    target = new URL(`./${rest.replace(/^[/\\]+/, '')}`, base);
  } catch {
    return undefined;
  }
  const inside =
    target.protocol === base.protocol && target.host === base.host && target.pathname.startsWith(base.pathname);
  return inside ? target : undefined;
}

/** The path of a request addressed to the proxy itself: origin-form, or absolute-form naming the proxy's own address. */
function pathForProxyItself(rawUrl: string, ownAddress: string): string | undefined {
  if (rawUrl.startsWith('/')) return rawUrl;
  try {
    const url = new URL(rawUrl);
    return url.protocol === 'http:' && hostPort(url) === ownAddress ? `${url.pathname}${url.search}` : undefined;
  } catch {
    return undefined;
  }
}

let upstreamTrust: (string | Buffer)[] | undefined;

/** Node's own roots and the host's CA bundle: the same trust the host's tools reach their registries with. */
function hostTrust(): (string | Buffer)[] {
  if (!upstreamTrust) {
    const bundle = caBundleFromEnv().hostPath;
    upstreamTrust = [...tls.rootCertificates, ...(bundle ? [fs.readFileSync(bundle)] : [])];
  }
  return upstreamTrust;
}

export interface EgressProxy {
  url: string;
  allowed: ReadonlySet<string>;
  /** The refusals of one sandbox address since a moment (epoch ms), for its run's evidence. */
  refusalsFrom(address: string, sinceMs: number): EgressRefusal[];
  close(): Promise<void>;
}

/** Refusals kept per proxy; a worker's sandboxes never come near this many between two runs' evidence. */
const REFUSALS_KEPT = 10_000;

function hostPort(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}

export function allowedDestinations(options: EgressOptions): Set<string> {
  return new Set([hostPort(new URL(options.registryUrl)), ...(options.extraAllowed ?? [])]);
}

/** A forward proxy (plain HTTP and CONNECT) that lets through only the allowed `host:port` pairs, and only reads over plain HTTP. */
export async function startEgressProxy(
  listenHost: string,
  allowed: ReadonlySet<string>,
  upstreams: readonly ReadOnlyUpstream[] = [],
  /** The host's cache of immutable artifacts on the `/upstream/` route (absent: every request goes upstream). */
  artifactCache?: UpstreamArtifactCache,
): Promise<EgressProxy> {
  let ownAddress = '';
  const log: EgressRefusal[] = [];
  const refuse = (from: string | undefined, refusal: Omit<EgressRefusal, 'at' | 'from'>) => {
    log.push({ at: Date.now(), from: from ?? 'unknown', ...refusal });
    if (log.length > REFUSALS_KEPT) log.splice(0, log.length - REFUSALS_KEPT);
  };
  // Registry clients open many small requests; reusing upstream connections is most of the proxy's speed.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const upstreamAgent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: hostTrust() });
  const fetchBuffered = (target: URL) =>
    new Promise<UpstreamAnswer>((resolve, reject) => {
      const client = target.protocol === 'https:' ? https : http;
      client
        .get(
          target,
          { headers: { 'accept-encoding': 'identity' }, agent: target.protocol === 'https:' ? upstreamAgent : agent },
          (answer) => {
            const chunks: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => chunks.push(chunk));
            answer.on('end', () =>
              resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }),
            );
            answer.on('error', reject);
          },
        )
        .on('error', reject);
    });
  const forwardToUpstream = (req: http.IncomingMessage, res: http.ServerResponse, ownPath: string, from?: string) => {
    const route = UPSTREAM_ROUTE.exec(ownPath.split('?')[0]);
    const upstream = route && upstreams.find((u) => u.name === route[1]);
    const deny = (status: number, reason: string) => {
      refuse(from, { method: req.method ?? '', destination: ownAddress, path: ownPath, reason });
      req.resume().once('end', () => res.writeHead(status, { 'content-type': 'text/plain' }).end(`${reason}\n`));
    };
    if (!upstream) return deny(404, `no registry is served at ${ownPath.split('?')[0]}`);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return deny(405, `${req.method} to the ${upstream.name} registry: sandboxes only read from registries`);
    const rest = ownPath.slice(`/upstream/${upstream.name}/`.length);
    const target = upstreamTarget(upstream.url, rest);
    if (!target) return deny(403, `${rest.split('?')[0]} is outside the ${upstream.name} registry`);
    const artifact = req.method === 'GET' && !req.headers.range ? upstream.immutableArtifact?.(rest) : undefined;
    if (artifactCache && artifact) {
      // Fetched whole and unencoded, so the bytes kept are the artifact's own.
      const fetchWhole = (registryPath: string) => {
        const whole = upstreamTarget(upstream.url, registryPath);
        return whole ? fetchBuffered(whole) : Promise.resolve({ status: 403, headers: {}, body: Buffer.alloc(0) });
      };
      artifactCache
        .get(upstream.name, rest, artifact, fetchWhole)
        .then((answer) => {
          const type = 'from' in answer ? answer.contentType : answer.headers['content-type'];
          res
            .writeHead('from' in answer ? 200 : answer.status, {
              ...(type ? { 'content-type': type } : {}),
              'content-length': String(answer.body.length),
              ...('from' in answer ? { 'x-regatta-cache': answer.from } : {}),
            })
            .end(answer.body);
        })
        .catch((err: Error) => {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`upstream ${target.host}: ${err.message}\n`);
        });
      return;
    }
    const headers: http.OutgoingHttpHeaders = {};
    for (const name of ['accept', 'accept-encoding', 'user-agent', 'range', 'if-none-match', 'if-modified-since'])
      if (req.headers[name]) headers[name] = req.headers[name];
    const client = target.protocol === 'https:' ? https : http;
    const forwarded = client.request(
      target,
      { method: req.method, headers, agent: target.protocol === 'https:' ? upstreamAgent : agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(`upstream ${target.host}: ${err.message}\n`);
    });
    forwarded.end();
  };
  const server = http.createServer((req, res) => {
    let target: URL;
    try {
      target = new URL(req.url ?? '', req.url?.startsWith('/') ? `http://${ownAddress}` : undefined);
    } catch {
      res.writeHead(400).end('absolute URL expected');
      return;
    }
    const from = req.socket.remoteAddress;
    const ownPath = pathForProxyItself(req.url ?? '', ownAddress);
    if (ownPath !== undefined) {
      forwardToUpstream(req, res, ownPath, from);
      return;
    }
    const destination = hostPort(target);
    if (target.protocol !== 'http:' || !allowed.has(destination)) {
      refuse(from, {
        method: req.method ?? '',
        destination,
        path: target.pathname,
        reason: "not allowed by the sandbox's network profile",
      });
      req
        .resume()
        .once('end', () =>
          res
            .writeHead(403, { 'content-type': 'text/plain' })
            .end(`egress to ${destination} is not allowed by the sandbox's network profile\n`),
        );
      return;
    }
    const writeRefusal = registryWriteRefusal(req.method, target.pathname);
    if (writeRefusal) {
      refuse(from, { method: req.method ?? '', destination, path: target.pathname, reason: writeRefusal });
      // Drained before answering, so the client's kept-alive connection stays usable for its next request.
      req
        .resume()
        .once('end', () =>
          res
            .writeHead(403, { 'content-type': 'application/json' })
            .end(`${JSON.stringify({ error: writeRefusal })}\n`),
        );
      return;
    }
    const headers: http.OutgoingHttpHeaders = { ...req.headers, host: target.host };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const upstream = http.request(target, { method: req.method, headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(`upstream ${destination}: ${err.message}\n`);
    });
    req.pipe(upstream);
  });
  server.on('connect', (req, client: net.Socket, head) => {
    const destination = req.url ?? '';
    if (!allowed.has(destination)) {
      refuse(client.remoteAddress, {
        method: 'CONNECT',
        destination,
        path: '',
        reason: "not allowed by the sandbox's network profile",
      });
      client.end(`HTTP/1.1 403 Forbidden\r\n\r\negress to ${destination} is not allowed\r\n`);
      return;
    }
    const [host, port] = [
      destination.slice(0, destination.lastIndexOf(':')),
      Number(destination.slice(destination.lastIndexOf(':') + 1)),
    ];
    const upstream = net.connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, resolve);
  });
  // The proxy serves sandboxes for as long as its worker runs; it never keeps a finished process alive by itself.
  server.unref();
  const { port } = server.address() as net.AddressInfo;
  ownAddress = `${listenHost}:${port}`;
  return {
    url: `http://${listenHost}:${port}`,
    allowed,
    refusalsFrom: (address, sinceMs) => log.filter((r) => r.from === address && r.at >= sinceMs),
    close: () =>
      new Promise((resolve) => {
        agent.destroy();
        upstreamAgent.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The internal network (created once) and its gateway address on the host; each execution host may name its own. */
export async function ensureEgressNetwork(
  docker: Docker,
  name = EGRESS_NETWORK,
): Promise<{ name: string; gateway: string }> {
  const existing = (await docker.listNetworks({ filters: { name: [name] } })).find((n) => n.Name === name);
  if (!existing) {
    await docker
      .createNetwork({ Name: name, Internal: true, Driver: 'bridge', Labels: { 'regatta.managed': 'true' } })
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode !== 409) throw err;
      });
  }
  const info = await docker.getNetwork(name).inspect();
  const gateway = info.IPAM?.Config?.[0]?.Gateway as string | undefined;
  if (!gateway) throw new Error(`the Docker network ${name} has no gateway address for the egress proxy to listen on`);
  return { name, gateway };
}

/** The `networkFor` an execution worker gives executeRun: one proxy per worker, started on first use, on `networkName`. */
export function networkProfiles(
  docker: Docker,
  options: EgressOptions,
  networkName = EGRESS_NETWORK,
): { networkFor(profile: ExecutionSpec['network']): Promise<SandboxNetwork>; close(): Promise<void> } {
  let proxy: Promise<{ network: string; proxy: EgressProxy; upstreams: ReadOnlyUpstream[] }> | undefined;
  const start = async () => {
    const network = await ensureEgressNetwork(docker, networkName);
    const upstreams = options.upstreams ?? hostRegistryUpstreams();
    return {
      network: network.name,
      upstreams,
      proxy: await startEgressProxy(
        network.gateway,
        allowedDestinations(options),
        upstreams,
        artifactCacheFromEnv(process.env, path.join(PROJECT_ROOT, '.regatta')),
      ),
    };
  };
  return {
    async networkFor(profile) {
      if (profile === 'none') return { mode: 'none' };
      if (profile === 'full') return { mode: 'network', name: 'bridge', env: {} };
      proxy ??= start();
      const { network, proxy: p, upstreams } = await proxy;
      const env = {
        HTTP_PROXY: p.url,
        HTTPS_PROXY: p.url,
        http_proxy: p.url,
        https_proxy: p.url,
        npm_config_proxy: p.url,
        npm_config_https_proxy: p.url,
        npm_config_registry: options.registryUrl,
        // Lockfiles name the registry they were made against; every tarball comes through the configured one instead.
        npm_config_replace_registry_host: 'always',
        // The registry is one hop away: a failure (a certificate the sandbox does not trust) is reported in seconds, not minutes of back-off.
        npm_config_fetch_retry_mintimeout: '1000',
        npm_config_fetch_retry_maxtimeout: '4000',
        npm_config_audit: 'false',
        npm_config_fund: 'false',
        ...Object.assign({}, ...upstreams.map((u) => u.sandboxEnv(`${p.url}/upstream/${u.name}`))),
      };
      return { mode: 'network', name: network, env, refusalsFrom: p.refusalsFrom };
    },
    async close() {
      if (proxy) await (await proxy).proxy.close();
    },
  };
}

/** The registry sandboxes use: REGATTA_SANDBOX_REGISTRY, else whatever npm on this host is configured with. */
export function sandboxRegistry(env: NodeJS.ProcessEnv = process.env): EgressOptions {
  const registryUrl =
    env.REGATTA_SANDBOX_REGISTRY ?? execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim();
  const extraAllowed = (env.REGATTA_EGRESS_ALLOW ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return { registryUrl, extraAllowed };
}
