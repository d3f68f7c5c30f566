/**
 * Telling "the Docker engine is not there" from "a Docker operation failed": the first is a transient fault of
 * the worker's host that a run waits out (RunWorkflow retries it for a window), the second belongs to the run.
 */
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import { DOCKER_ENGINE_UNAVAILABLE } from '../temporal/failure-types';
import { reapContainers } from './driver';

export { DOCKER_ENGINE_UNAVAILABLE };

/** Socket errors that mean nothing is listening (or the engine went away mid-call), not that Docker refused the request. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNABORTED',
]);
const PING_TIMEOUT_MS = 3_000;

interface DockerishError {
  code?: string;
  statusCode?: number;
  message?: string;
}

/** True when the engine answers a ping within a few seconds. */
export async function engineAnswers(docker: Docker, timeoutMs = PING_TIMEOUT_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      docker.ping().then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Where the client talks to the engine, for messages ("/var/run/docker.sock" or "host:port"). */
export function engineAddress(docker: Docker): string {
  const modem = docker.modem as { socketPath?: string; host?: string; port?: number | string };
  return modem.socketPath ?? `${modem.host ?? 'localhost'}:${modem.port ?? ''}`;
}

/**
 * Why `err` is the engine's absence rather than the operation's fault, or undefined. A connection error says so by
 * itself; anything else (a 5xx while the engine starts, a stream cut mid-command) counts only if a ping fails too.
 */
export async function engineFault(docker: Docker, err: unknown): Promise<string | undefined> {
  const { code, message } = (err ?? {}) as DockerishError;
  if (code && UNREACHABLE_CODES.has(code))
    return `the Docker engine at ${engineAddress(docker)} is unreachable (${message ?? code})`;
  if (await engineAnswers(docker)) return undefined;
  return `the Docker engine at ${engineAddress(docker)} does not answer${message ? ` (${message})` : ''}`;
}

/** The typed failure RunWorkflow waits out; retryable, so a workflow that predates the wait still retries it as before. */
export function engineUnavailableFailure(reason: string, cause?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type: DOCKER_ENGINE_UNAVAILABLE,
    message: reason,
    cause: cause instanceof Error ? cause : undefined,
  });
}

/** Rethrows `err` as DockerEngineUnavailable when the engine is what failed; otherwise returns it unchanged. */
export async function asEngineFailure(docker: Docker, err: unknown): Promise<unknown> {
  if (err instanceof ApplicationFailure && err.type === DOCKER_ENGINE_UNAVAILABLE) return err;
  const reason = await engineFault(docker, err);
  return reason ? engineUnavailableFailure(reason, err) : err;
}

/**
 * Removes the sandboxes an engine outage left behind: containers that existed before it and no longer run (an engine
 * restarting without live-restore kills them all, and their attempts failed with it). Returns the ids removed.
 */
export function reapContainersOfOutage(docker: Docker, outageStartedMs: number): Promise<string[]> {
  return reapContainers(docker, { stoppedBefore: outageStartedMs });
}
