/** The execution-plane worker: runs sandboxes beside a Docker engine; holds no forge credentials. */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NativeConnection, Worker } from '@temporalio/worker';
import type Docker from 'dockerode';
import { createExecutionActivities, type ExecutionDeps } from '../../activities/execution/execute-run';
import { surveyDependency } from '../../activities/survey/survey-dependency';
import { engineAddress, engineAnswers } from '../sandbox/engine';

export interface ExecutionWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ExecutionDeps;
  identity?: string;
  /** Runs this worker executes at once: what its host can hold (execution-slots.ts), never the SDK's default. */
  runSlots: number;
}

export function executionActivities(deps: ExecutionDeps) {
  return { ...createExecutionActivities(deps), surveyDependency };
}

export async function createExecutionWorker(options: ExecutionWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    identity: options.identity,
    activities: executionActivities({ ...options.deps, identity: options.identity }),
    // Only activity slots matter: this worker registers no workflows, so it polls no workflow tasks.
    maxConcurrentActivityTaskExecutions: options.runSlots,
    // Cancellation and lease loss reach an activity through heartbeats; send them promptly.
    maxHeartbeatThrottleInterval: '2 seconds',
  });
}

export function workspaceRootFor(home: string): string {
  return path.join(home, 'workspaces');
}

export interface EngineWatch {
  /** Told on every change: polling, or paused since the engine stopped answering (with why). */
  onState(state: 'polling' | 'paused', since: Date, reason?: string): void;
  /** Called once the engine answers again after an outage that began at `outageStartedMs`, before polling resumes. */
  onEngineBack?(outageStartedMs: number): Promise<void>;
  /** Aborted on shutdown: the worker stops polling (or waiting) and this returns. */
  signal: AbortSignal;
  pingEveryMs?: number;
  /** Consecutive failed pings before the worker pauses: one lost ping is not an outage. */
  failuresToPause?: number;
}

/**
 * Polls the execution queue only while the worker's Docker engine answers. Without an engine every run it took would
 * fail, so it shuts its Temporal worker down (attempts in flight report the engine fault and their workflows wait it
 * out), leaves new runs in the queue for workers that have an engine, and polls again once the engine answers.
 */
export async function runWhileEngineAnswers(options: ExecutionWorkerOptions, watch: EngineWatch): Promise<void> {
  const docker = options.deps.docker;
  const pingEveryMs = watch.pingEveryMs ?? 2_000;
  const unreachable = `the Docker engine at ${engineAddress(docker)} does not answer`;
  let outageSince = (await engineAnswers(docker)) ? undefined : Date.now();
  while (!watch.signal.aborted) {
    if (outageSince !== undefined) {
      watch.onState('paused', new Date(outageSince), unreachable);
      if (!(await waitForEngine(docker, pingEveryMs, watch.signal))) return;
      await watch.onEngineBack?.(outageSince);
      outageSince = undefined;
    }
    const worker = await createExecutionWorker(options);
    const stop = () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    };
    watch.signal.addEventListener('abort', stop);
    watch.onState('polling', new Date());
    const running = worker.run();
    // Awaited below; a fatal worker error must not surface earlier as an unhandled rejection.
    running.catch(() => undefined);
    outageSince = await watchEngine(
      docker,
      pingEveryMs,
      watch.failuresToPause ?? 2,
      () => worker.getState() === 'RUNNING',
    );
    stop();
    try {
      await running;
    } finally {
      watch.signal.removeEventListener('abort', stop);
    }
  }
}

/** Pings until `failures` pings in a row fail (returns when the first of them was sent) or `active` turns false. */
async function watchEngine(
  docker: Docker,
  everyMs: number,
  failures: number,
  active: () => boolean,
): Promise<number | undefined> {
  let failedSince: number | undefined;
  let failed = 0;
  while (active()) {
    await sleep(everyMs);
    const pingedAt = Date.now();
    if (await engineAnswers(docker, everyMs)) {
      failed = 0;
      failedSince = undefined;
      continue;
    }
    failedSince ??= pingedAt;
    if (++failed >= failures) return failedSince;
  }
  return undefined;
}

/** True once the engine answers; false when `signal` aborts first. */
async function waitForEngine(docker: Docker, everyMs: number, signal: AbortSignal): Promise<boolean> {
  while (!signal.aborted) {
    if (await engineAnswers(docker, everyMs)) return true;
    await sleep(everyMs, undefined, { signal }).catch(() => undefined);
  }
  return false;
}
