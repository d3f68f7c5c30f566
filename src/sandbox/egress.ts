/**
 * Network profiles for sandboxes. `registry_only`: the container sits on an internal Docker network whose only
 * way out is an egress proxy listening on the host at that network's gateway address, which forwards to the
 * package registries named in configuration and refuses everything else. `full`: Docker's default bridge.
 *
 * Toward a plain-HTTP registry (the host's registry mirror) the proxy lets only reads through: GET and HEAD, and
 * never the registration, login, publish, dist-tag or token endpoints. An HTTPS registry is reached through
 * CONNECT, an opaque tunnel: there, writes are stopped only by the sandbox holding no credentials.
 * Every refusal is kept with the sandbox address it came from, so each run's evidence lists its own.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type Docker from 'dockerode';
import type { ExecutionSpec } from '../contracts';
import { registryWriteRefusal } from '../registry/read-only';
import type { EgressRefusal, SandboxNetwork } from './driver';

export const EGRESS_NETWORK = 'regatta-egress';

export interface EgressOptions {
  /** The registry the sandbox's package manager uses (e.g. from `npm config get registry`). */
  registryUrl: string;
  /** More `host:port` pairs the proxy lets through. */
  extraAllowed?: string[];
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
export async function startEgressProxy(listenHost: string, allowed: ReadonlySet<string>): Promise<EgressProxy> {
  const log: EgressRefusal[] = [];
  const refuse = (from: string | undefined, refusal: Omit<EgressRefusal, 'at' | 'from'>) => {
    log.push({ at: Date.now(), from: from ?? 'unknown', ...refusal });
    if (log.length > REFUSALS_KEPT) log.splice(0, log.length - REFUSALS_KEPT);
  };
  // Registry clients open many small requests; reusing upstream connections is most of the proxy's speed.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute URL expected');
      return;
    }
    const from = req.socket.remoteAddress;
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
  return {
    url: `http://${listenHost}:${port}`,
    allowed,
    refusalsFrom: (address, sinceMs) => log.filter((r) => r.from === address && r.at >= sinceMs),
    close: () =>
      new Promise((resolve) => {
        agent.destroy();
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
  let proxy: Promise<{ network: string; proxy: EgressProxy }> | undefined;
  const start = async () => {
    const network = await ensureEgressNetwork(docker, networkName);
    return { network: network.name, proxy: await startEgressProxy(network.gateway, allowedDestinations(options)) };
  };
  return {
    async networkFor(profile) {
      if (profile === 'none') return { mode: 'none' };
      if (profile === 'full') return { mode: 'network', name: 'bridge', env: {} };
      proxy ??= start();
      const { network, proxy: p } = await proxy;
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
