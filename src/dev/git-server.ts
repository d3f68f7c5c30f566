/**
 * Smart-HTTP git remotes for the local fleet: Debian git's `git http-backend` run as CGI behind a loopback
 * HTTP server, because isomorphic-git speaks only http(s). URLs are <baseUrl>/<owner>/<name>.git.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { splitLines } from '../text/lines';

export const GIT_SERVER_HEALTH_PATH = '/_regatta/health';

export interface GitServerOptions {
  /** Directory holding the bare repositories (<root>/<owner>/<name>.git). */
  root: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  onError?: (message: string) => void;
}

export interface GitServer {
  baseUrl: string;
  port: number;
  close(): Promise<void>;
}

function backendEnv(root: string, req: http.IncomingMessage, url: URL): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    // A set REMOTE_USER enables receive-pack; the config keys make pushes work whoever owns the repos.
    REMOTE_USER: 'regatta',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: 'http.receivepack',
    GIT_CONFIG_VALUE_0: 'true',
    GIT_CONFIG_KEY_1: 'safe.directory',
    GIT_CONFIG_VALUE_1: '*',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    GATEWAY_INTERFACE: 'CGI/1.1',
  };
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
  if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
  return env;
}

/** Splits the CGI response's header block from its body and writes both to the HTTP response. */
function relayCgiResponse(stdout: NodeJS.ReadableStream, res: http.ServerResponse): void {
  let head = Buffer.alloc(0);
  let headersSent = false;
  stdout.on('data', (chunk: Buffer) => {
    if (headersSent) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const match = /\r?\n\r?\n/.exec(head.toString('latin1'));
    if (!match) return;
    const headerText = head.subarray(0, match.index).toString('latin1');
    const body = head.subarray(match.index + match[0].length);
    let status = 200;
    for (const line of splitLines(headerText)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
      else res.setHeader(name, value);
    }
    res.writeHead(status);
    headersSent = true;
    if (body.length) res.write(body);
  });
  stdout.on('end', () => {
    if (!headersSent) res.writeHead(502).end('git http-backend produced no response');
    else res.end();
  });
}

function isSafePath(pathname: string): boolean {
  return !decodeURIComponent(pathname)
    .split('/')
    .some((segment) => segment === '..');
}

export function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    if (url.pathname === GIT_SERVER_HEALTH_PATH) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ service: 'regatta-git-server', root: options.root }));
      return;
    }
    if (!isSafePath(url.pathname)) {
      res.writeHead(400).end('bad path');
      return;
    }
    const backend = spawn('git', ['http-backend'], {
      env: backendEnv(options.root, req, url),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    backend.stderr.on('data', (d: Buffer) =>
      options.onError?.(`${req.method} ${url.pathname}: ${d.toString().trim()}`),
    );
    backend.on('error', (err) => {
      options.onError?.(`git http-backend failed to start: ${err.message}`);
      if (!res.headersSent) res.writeHead(500).end('git http-backend is not available');
    });
    backend.stdin.on('error', () => undefined);
    req.pipe(backend.stdin);
    relayCgiResponse(backend.stdout, res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      resolve({
        baseUrl: `http://${host}:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** True when a Regatta git server (not some other program) answers at baseUrl. */
export async function gitServerAnswers(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}${GIT_SERVER_HEALTH_PATH}`, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { service?: string };
    return body.service === 'regatta-git-server';
  } catch {
    return false;
  }
}
