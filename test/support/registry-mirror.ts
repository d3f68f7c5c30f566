/**
 * A registry mirror of the test's own (src/registry/mirror-main.ts in a child process, its own storage and port), and an
 * upstream in front of the stack's Verdaccio that a test can count requests on and switch off, to play an outage.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TestMirror {
  url: string;
  dir: string;
  storage: string;
  log(): string;
  stop(): Promise<void>;
}

export async function startTestMirror(options: {
  upstream: string;
  scopes?: Record<string, string>;
  maxBytes?: number;
  env?: NodeJS.ProcessEnv;
}): Promise<TestMirror> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-mirror-'));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--require', 'tsx/cjs', path.join(__dirname, '..', '..', 'src', 'registry', 'mirror-main.ts')],
    {
      cwd: path.join(__dirname, '..', '..'),
      env: {
        ...process.env,
        ...options.env,
        REGATTA_MIRROR_DIR: dir,
        REGATTA_MIRROR_PORT: '0',
        REGATTA_MIRROR_UPSTREAM: options.upstream,
        REGATTA_MIRROR_SCOPES: Object.entries(options.scopes ?? {})
          .map(([s, u]) => `${s}=${u}`)
          .join(','),
        ...(options.maxBytes ? { REGATTA_MIRROR_MAX_BYTES: String(options.maxBytes) } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the mirror did not start in 60 s:\n${output}`)), 60_000);
    const check = () => {
      const match = /registry mirror on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`the mirror exited with ${code}:\n${output}`)));
  });
  return {
    url,
    dir,
    storage: path.join(dir, 'storage'),
    log: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CountingUpstream {
  url: string;
  /** Request paths seen, in order. */
  requests: string[];
  tarballRequests(): string[];
  /** Stops answering (connections refused) until `resume`. */
  suspend(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Forwards to a real registry and records what it was asked; suspend() plays an upstream outage. With `tls`, it
 * serves HTTPS (a registry behind an organisation's own CA).
 */
export async function startCountingUpstream(
  registry: string,
  tls?: { key: string; cert: string },
): Promise<CountingUpstream> {
  const target = new URL(registry);
  const requests: string[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    requests.push(req.url ?? '/');
    // Identity encoding, so metadata can be rewritten below.
    const headers = { ...req.headers, host: target.host, 'accept-encoding': 'identity' };
    const upstream = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers },
      (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (c: Buffer) => body.push(c));
        answer.on('end', () => {
          // Metadata names tarballs by the registry's own address; rewrite it so a client comes back here.
          let data = Buffer.concat(body);
          const type = String(answer.headers['content-type'] ?? '');
          if (type.includes('json'))
            data = Buffer.from(
              data.toString('utf8').split(registry.replace(/\/$/, '')).join(address().replace(/\/$/, '')),
            );
          const headers = { ...answer.headers, 'content-length': String(data.length) };
          delete headers['transfer-encoding'];
          res.writeHead(answer.statusCode ?? 502, headers).end(data);
        });
      },
    );
    upstream.on('error', (err) => res.writeHead(502).end(err.message));
    req.pipe(upstream);
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  let port = 0;
  const address = () => `${tls ? 'https' : 'http'}://127.0.0.1:${port}/`;
  const listen = () =>
    new Promise<void>((resolve) => {
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  await listen();
  return {
    url: address(),
    requests,
    tarballRequests: () => requests.filter((r) => r.endsWith('.tgz')),
    suspend: stop,
    resume: listen,
    close: stop,
  };
}
