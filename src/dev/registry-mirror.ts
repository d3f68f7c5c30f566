/**
 * The stack's registry mirror (src/registry/mirror.ts): the one path sandboxes on `registry_only` have to packages.
 * Its upstream is the host's configured registry; the fleet's internal scope (@acme) comes from the stack's Verdaccio.
 * Its storage lives in <home>/registry-mirror and survives restarts; a mirror started from other settings is restarted.
 */
import path from 'node:path';
import { caBundleFromEnv } from '../registry/ca-bundle';
import { MIRROR_DEFAULT_PORT } from '../registry/mirror-settings';
import { httpAnswers } from './temporal-server';
import { portFromEnv, runningService, servicePaths, startService, stopService, waitUntil } from './processes';

export const REGISTRY_MIRROR_SERVICE = 'registry-mirror';
export const REGISTRY_MIRROR_PORT = portFromEnv('REGATTA_MIRROR_PORT', MIRROR_DEFAULT_PORT);

export function registryMirrorUrl(port = REGISTRY_MIRROR_PORT): string {
  return `http://127.0.0.1:${port}/`;
}

export interface RegistryMirrorStatus {
  healthy: boolean;
  url: string;
  error?: string;
}

/** Starts the mirror unless one with the same settings answers; `scopes` maps `@scope` to an internal registry. */
export async function ensureRegistryMirror(
  home: string,
  projectRoot: string,
  scopes: Record<string, string>,
): Promise<RegistryMirrorStatus> {
  const url = registryMirrorUrl();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REGATTA_MIRROR_DIR: path.join(home, 'registry-mirror'),
    REGATTA_MIRROR_PORT: String(REGISTRY_MIRROR_PORT),
    REGATTA_MIRROR_SCOPES: Object.entries(scopes)
      .map(([scope, registry]) => `${scope}=${registry}`)
      .join(','),
  };
  // Verdaccio reaches HTTPS upstreams with the host's trust, the same bundle sandboxes get.
  const ca = caBundleFromEnv();
  if (ca.hostPath) env.NODE_EXTRA_CA_CERTS = ca.hostPath;
  const fingerprint = JSON.stringify([
    env.REGATTA_MIRROR_SCOPES,
    env.REGATTA_MIRROR_UPSTREAM ?? '',
    env.REGATTA_MIRROR_MAX_BYTES ?? '',
    ca.hostPath ?? '',
  ]);
  const running = runningService(home, REGISTRY_MIRROR_SERVICE);
  if (running && running.fingerprint !== fingerprint) await stopService(home, REGISTRY_MIRROR_SERVICE);
  if (running?.fingerprint === fingerprint && (await mirrorAnswers(url))) return { healthy: true, url };
  const record = startService(home, {
    name: REGISTRY_MIRROR_SERVICE,
    command: process.execPath,
    args: ['--require', 'tsx/cjs', path.join(projectRoot, 'src', 'registry', 'mirror-main.ts')],
    cwd: projectRoot,
    env,
    fingerprint,
  });
  await waitUntil(() => mirrorAnswers(url), {
    what: `registry mirror at ${url}`,
    timeoutMs: 60_000,
    pid: record.pid,
    logFile: servicePaths(home, REGISTRY_MIRROR_SERVICE).logFile,
  });
  return { healthy: true, url };
}

function mirrorAnswers(url: string): Promise<boolean> {
  return httpAnswers(`${url}-/ping`);
}

export async function registryMirrorStatus(): Promise<RegistryMirrorStatus> {
  const url = registryMirrorUrl();
  const healthy = await mirrorAnswers(url);
  return { healthy, url, error: healthy ? undefined : `no answer at ${url}-/ping` };
}
