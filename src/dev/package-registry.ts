/**
 * The local fleet's npm registry: Verdaccio on loopback with no uplinks (this machine reaches no public
 * registry through it), its config and storage in <home>/verdaccio, and one publishing user whose password
 * is kept in <home>/verdaccio/credentials.json (mode 0600). That user is written into the htpasswd file before
 * Verdaccio starts, and registration is off (`max_users: -1`): nobody, a hostile repository included, can add one.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { httpAnswers } from './temporal-server';
import { portFromEnv, runningService, servicePaths, startService, stopService, waitUntil } from './processes';

export const PACKAGE_REGISTRY_SERVICE = 'verdaccio';
export const PACKAGE_REGISTRY_PORT = portFromEnv('REGATTA_NPM_PORT', 4873);
const PUBLISHER = 'regatta';

export interface PackageRegistryInfo {
  url: string;
  /** base64 of `user:password`, which may publish: `//127.0.0.1:4873/:_auth=<auth>` in an .npmrc, or HTTP Basic. */
  auth: string;
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
    // Registration is off: the one publishing user is written into the file by ensurePublisher.
    '    max_users: -1',
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

/** The publishing user's password (made on first use) and its line in the htpasswd file Verdaccio reads at start. */
function ensurePublisher(home: string): PackageRegistryInfo['auth'] {
  const file = path.join(registryDir(home), 'credentials.json');
  const saved = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { password?: string }) : undefined;
  const password = saved?.password ?? randomBytes(18).toString('base64url');
  if (!saved?.password)
    fs.writeFileSync(file, `${JSON.stringify({ user: PUBLISHER, password }, null, 2)}\n`, { mode: 0o600 });
  const line = `${PUBLISHER}:{SHA}${createHash('sha1').update(password).digest('base64')}:publisher of the local fleet's packages\n`;
  const htpasswd = path.join(registryDir(home), 'htpasswd');
  if (!fs.existsSync(htpasswd) || fs.readFileSync(htpasswd, 'utf8') !== line)
    fs.writeFileSync(htpasswd, line, { mode: 0o600 });
  return Buffer.from(`${PUBLISHER}:${password}`).toString('base64');
}

async function publisherAccepted(url: string, auth: string): Promise<boolean> {
  const whoami = await fetch(`${url}-/whoami`, { headers: { authorization: `Basic ${auth}` } });
  return whoami.ok && ((await whoami.json()) as { username?: string }).username === PUBLISHER;
}

export async function ensurePackageRegistry(
  home: string,
  projectRoot: string,
): Promise<PackageRegistryStatus & { info: PackageRegistryInfo }> {
  const url = registryUrl();
  let startedByUs = false;
  const configFile = writeConfig(home);
  const auth = ensurePublisher(home);
  const fingerprint = createHash('sha256').update(fs.readFileSync(configFile)).digest('hex').slice(0, 16);
  // A registry this stack started from another config (one that still let users register) is restarted.
  const running = runningService(home, PACKAGE_REGISTRY_SERVICE);
  if (running && running.fingerprint !== fingerprint) await stopService(home, PACKAGE_REGISTRY_SERVICE);
  if (!(await registryAnswers(url))) {
    const record = startService(home, {
      name: PACKAGE_REGISTRY_SERVICE,
      command: path.join(projectRoot, 'node_modules', '.bin', 'verdaccio'),
      args: ['--config', configFile, '--listen', `127.0.0.1:${PACKAGE_REGISTRY_PORT}`],
      cwd: registryDir(home),
      fingerprint,
    });
    startedByUs = true;
    await waitUntil(() => registryAnswers(url), {
      what: `Verdaccio package registry at ${url}`,
      timeoutMs: 60_000,
      pid: record.pid,
      logFile: servicePaths(home, PACKAGE_REGISTRY_SERVICE).logFile,
    });
  }
  if (!(await publisherAccepted(url, auth))) {
    throw new Error(
      `Verdaccio at ${url} does not accept this stack's publishing user (another stack's registry?): stop it, or set REGATTA_NPM_PORT`,
    );
  }
  return { healthy: true, url, startedByUs, info: { url, auth } };
}

export async function packageRegistryStatus(): Promise<PackageRegistryStatus> {
  const url = registryUrl();
  const healthy = await registryAnswers(url);
  return { healthy, url, startedByUs: false, error: healthy ? undefined : `no answer at ${url}-/ping` };
}
