/**
 * Network profiles for sandboxes. `registry_only`: the container sits on an internal Docker network whose only
 * way out is an egress proxy listening on the host at that network's gateway address, which forwards to the
 * package registries named in configuration and refuses everything else. `full`: Docker's default bridge.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type Docker from 'dockerode';
import type { ExecutionSpec } from '../contracts';
import type { SandboxNetwork } from './driver';

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
  /** Requests refused, as `host:port`, for evidence and tests. */
  refused: string[];
  close(): Promise<void>;
}

function hostPort(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}

export function allowedDestinations(options: EgressOptions): Set<string> {
  return new Set([hostPort(new URL(options.registryUrl)), ...(options.extraAllowed ?? [])]);
}

/** A forward proxy (plain HTTP and CONNECT) that lets through only the allowed `host:port` pairs. */
export async function startEgressProxy(listenHost: string, allowed: ReadonlySet<string>): Promise<EgressProxy> {
  const refused: string[] = [];
  const server = http.createServer((req, res) => {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute URL expected');
      return;
    }
    if (target.protocol !== 'http:' || !allowed.has(hostPort(target))) {
      refused.push(hostPort(target));
      res.writeHead(403, { 'content-type': 'text/plain' }).end(`egress to ${hostPort(target)} is not allowed by the sandbox's network profile\n`);
      return;
    }
    const upstream = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (err) => res.writeHead(502).end(`upstream ${hostPort(target)}: ${err.message}\n`));
    req.pipe(upstream);
  });
  server.on('connect', (req, client: net.Socket, head) => {
    const destination = req.url ?? '';
    if (!allowed.has(destination)) {
      refused.push(destination);
      client.end(`HTTP/1.1 403 Forbidden\r\n\r\negress to ${destination} is not allowed\r\n`);
      return;
    }
    const [host, port] = [destination.slice(0, destination.lastIndexOf(':')), Number(destination.slice(destination.lastIndexOf(':') + 1))];
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
  return { url: `http://${listenHost}:${port}`, allowed, refused, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The internal network (created once) and its gateway address on the host. */
export async function ensureEgressNetwork(docker: Docker): Promise<{ name: string; gateway: string }> {
  const existing = (await docker.listNetworks({ filters: { name: [EGRESS_NETWORK] } })).find((n) => n.Name === EGRESS_NETWORK);
  if (!existing) {
    await docker.createNetwork({ Name: EGRESS_NETWORK, Internal: true, Driver: 'bridge', Labels: { 'regatta.managed': 'true' } }).catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 409) throw err;
    });
  }
  const info = await docker.getNetwork(EGRESS_NETWORK).inspect();
  const gateway = info.IPAM?.Config?.[0]?.Gateway as string | undefined;
  if (!gateway) throw new Error(`the Docker network ${EGRESS_NETWORK} has no gateway address for the egress proxy to listen on`);
  return { name: EGRESS_NETWORK, gateway };
}

/** The `networkFor` an execution worker gives executeRun: one proxy per worker, started on first use. */
export function networkProfiles(docker: Docker, options: EgressOptions): { networkFor(profile: ExecutionSpec['network']): Promise<SandboxNetwork>; close(): Promise<void> } {
  let proxy: Promise<{ network: string; proxy: EgressProxy }> | undefined;
  const start = async () => {
    const network = await ensureEgressNetwork(docker);
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
      };
      return { mode: 'network', name: network, env };
    },
    async close() {
      if (proxy) await (await proxy).proxy.close();
    },
  };
}

/** The registry sandboxes use: REGATTA_SANDBOX_REGISTRY, else whatever npm on this host is configured with. */
export function sandboxRegistry(env: NodeJS.ProcessEnv = process.env): EgressOptions {
  const registryUrl = env.REGATTA_SANDBOX_REGISTRY ?? execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim();
  const extraAllowed = (env.REGATTA_EGRESS_ALLOW ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return { registryUrl, extraAllowed };
}
