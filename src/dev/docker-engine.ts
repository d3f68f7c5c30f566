/** The Docker engine the sandboxes run on: the one that answers, or a `dockerd` we start ourselves. */
import os from 'node:os';
import path from 'node:path';
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

/** Which dockerd: the machine's own (the defaults), or one started beside it with its own socket and data. */
export interface DockerEngineOptions {
  /** The service its pid and log files are named after. */
  service: string;
  /** Its unix socket; absent: the client's default (DOCKER_HOST or /var/run/docker.sock). */
  socketPath?: string;
  args: string[];
}

const MACHINE_ENGINE: DockerEngineOptions = { service: DOCKERD_SERVICE, args: [] };

/**
 * A dockerd of its own beside the machine's (for a test that kills and restarts an engine without touching anyone
 * else's): socket and data under the home directory, so images loaded into it stay for the next run.
 */
export function isolatedDockerEngine(home: string, name: string): DockerEngineOptions & { socketPath: string } {
  const dir = path.join(home, 'engines', name);
  const socketPath = path.join(dir, 'docker.sock');
  // containerd's sockets live under the exec root, and unix socket paths must stay short.
  const execRoot = path.join(os.tmpdir(), `regatta-engine-${name}`);
  return {
    service: `dockerd-${name}`,
    socketPath,
    args: [
      '--host',
      `unix://${socketPath}`,
      '--data-root',
      path.join(dir, 'data'),
      '--exec-root',
      execRoot,
      '--pidfile',
      path.join(dir, 'dockerd.pid'),
      '--bridge',
      'none',
      '--iptables=false',
      '--ip-masq=false',
    ],
  };
}

export function dockerClientFor(engine: DockerEngineOptions): Docker {
  return engine.socketPath ? new Docker({ socketPath: engine.socketPath, version: 'v1.41' }) : new Docker();
}

export async function dockerEngineVersion(docker = new Docker()): Promise<string | undefined> {
  try {
    await withTimeout(docker.ping(), 3_000);
    const version = await withTimeout(docker.version(), 3_000);
    return version.Version;
  } catch {
    return undefined;
  }
}

export async function ensureDockerEngine(
  home: string,
  engine: DockerEngineOptions = MACHINE_ENGINE,
): Promise<DockerEngineStatus> {
  const docker = dockerClientFor(engine);
  const running = await dockerEngineVersion(docker);
  if (running) return { healthy: true, version: running, startedByUs: false };
  const record = startService(home, { name: engine.service, command: 'dockerd', args: engine.args });
  await waitUntil(async () => (await dockerEngineVersion(docker)) !== undefined, {
    what: `Docker engine (dockerd${engine.socketPath ? ` on ${engine.socketPath}` : ''})`,
    timeoutMs: 60_000,
    pid: record.pid,
    logFile: servicePaths(home, engine.service).logFile,
  });
  return { healthy: true, version: await dockerEngineVersion(docker), startedByUs: true };
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
