/**
 * The local fleet's npm registry: Verdaccio on loopback with no uplinks (this machine reaches no public
 * registry through it), its config and storage in <home>/verdaccio, and one publishing user whose token
 * is kept in <home>/verdaccio/credentials.json (mode 0600).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { httpAnswers } from './temporal-server';
import { portFromEnv, servicePaths, startService, waitUntil } from './processes';

export const PACKAGE_REGISTRY_SERVICE = 'verdaccio';
export const PACKAGE_REGISTRY_PORT = portFromEnv('REGATTA_NPM_PORT', 4873);
const PUBLISHER = 'regatta';

export interface PackageRegistryInfo {
  url: string;
  /** A token that may publish, e.g. for `//127.0.0.1:4873/:_authToken=<token>` in an .npmrc. */
  token: string;
}

export interface PackageRegistryStatus {
  healthy: boolean;
  url: string;
  startedByUs: boolean;
  error?: string;
}

function registryDir(home: string): string {
  return path.join(home, 'verdaccio');
}

export function registryUrl(port = PACKAGE_REGISTRY_PORT): string {
  return `http://127.0.0.1:${port}/`;
}

function writeConfig(home: string): string {
  const dir = registryDir(home);
  const file = path.join(dir, 'config.yaml');
  fs.mkdirSync(path.join(dir, 'storage'), { recursive: true });
  const config = [
    `storage: ${JSON.stringify(path.join(dir, 'storage'))}`,
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(path.join(dir, 'htpasswd'))}`,
    '    max_users: 100',
    // No uplinks: only packages published here resolve, so runs never depend on the outside world.
    'uplinks: {}',
    'packages:',
    "  '**':",
    '    access: $all',
    '    publish: $authenticated',
    '    unpublish: $authenticated',
    'log: { type: stdout, format: pretty, level: warn }',
    '',
  ].join('\n');
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== config) fs.writeFileSync(file, config);
  return file;
}

async function registryAnswers(url: string): Promise<boolean> {
  return httpAnswers(`${url}-/ping`);
}

/** Logs the publishing user in (creating it on first use) and keeps its token beside the config. */
async function publisherToken(home: string, url: string): Promise<string> {
  const file = path.join(registryDir(home), 'credentials.json');
  const saved = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { password: string; token?: string }) : undefined;
  const password = saved?.password ?? randomBytes(18).toString('base64url');
  if (saved?.token) {
    const whoami = await fetch(`${url}-/whoami`, { headers: { authorization: `Bearer ${saved.token}` } });
    if (whoami.ok) return saved.token;
  }
  const response = await fetch(`${url}-/user/org.couchdb.user:${PUBLISHER}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: PUBLISHER, password }),
  });
  const body = (await response.json()) as { token?: string; error?: string };
  if (response.status === 409 || response.status === 401) {
    throw new Error(`Verdaccio at ${url} already has a '${PUBLISHER}' user with another password (another stack's registry?): stop it, or set REGATTA_NPM_PORT`);
  }
  if (!response.ok || !body.token) throw new Error(`Verdaccio at ${url} refused the publishing user: ${body.error ?? response.status}`);
  fs.writeFileSync(file, `${JSON.stringify({ user: PUBLISHER, password, token: body.token }, null, 2)}\n`, { mode: 0o600 });
  return body.token;
}

export async function ensurePackageRegistry(home: string, projectRoot: string): Promise<PackageRegistryStatus & { info: PackageRegistryInfo }> {
  const url = registryUrl();
  let startedByUs = false;
  if (!(await registryAnswers(url))) {
    const configFile = writeConfig(home);
    const record = startService(home, {
      name: PACKAGE_REGISTRY_SERVICE,
      command: path.join(projectRoot, 'node_modules', '.bin', 'verdaccio'),
      args: ['--config', configFile, '--listen', `127.0.0.1:${PACKAGE_REGISTRY_PORT}`],
      cwd: registryDir(home),
    });
    startedByUs = true;
    await waitUntil(() => registryAnswers(url), {
      what: `Verdaccio package registry at ${url}`,
      timeoutMs: 60_000,
      pid: record.pid,
      logFile: servicePaths(home, PACKAGE_REGISTRY_SERVICE).logFile,
    });
  }
  const token = await publisherToken(home, url);
  return { healthy: true, url, startedByUs, info: { url, token } };
}

export async function packageRegistryStatus(): Promise<PackageRegistryStatus> {
  const url = registryUrl();
  const healthy = await registryAnswers(url);
  return { healthy, url, startedByUs: false, error: healthy ? undefined : `no answer at ${url}-/ping` };
}
