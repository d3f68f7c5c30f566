/** The Docker engine the sandboxes run on: the one that answers, or a `dockerd` we start ourselves. */
import Docker from 'dockerode';
import { servicePaths, startService, waitUntil } from './processes';

export interface DockerEngineStatus {
  healthy: boolean;
  version?: string;
  /** True when this stack started dockerd (so `dev down` may stop it). */
  startedByUs: boolean;
  error?: string;
}

export const DOCKERD_SERVICE = 'dockerd';

export async function dockerEngineVersion(docker = new Docker()): Promise<string | undefined> {
  try {
    await withTimeout(docker.ping(), 3_000);
    const version = await withTimeout(docker.version(), 3_000);
    return version.Version;
  } catch {
    return undefined;
  }
}

export async function ensureDockerEngine(home: string): Promise<DockerEngineStatus> {
  const running = await dockerEngineVersion();
  if (running) return { healthy: true, version: running, startedByUs: false };
  const record = startService(home, { name: DOCKERD_SERVICE, command: 'dockerd', args: [] });
  await waitUntil(async () => (await dockerEngineVersion()) !== undefined, {
    what: 'Docker engine (dockerd)',
    timeoutMs: 60_000,
    pid: record.pid,
    logFile: servicePaths(home, DOCKERD_SERVICE).logFile,
  });
  return { healthy: true, version: await dockerEngineVersion(), startedByUs: true };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
