/**
 * Regatta's two workers as separate detached processes. A worker started from older source is restarted,
 * so `dev up` after an edit never leaves stale workflow or activity code polling.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { RegattaConfig } from '../config';
import type { ExecutionSlots } from '../workers/execution-slots';
import { describeWorkerState, readWorkerState } from '../workers/worker-state';
import { pythonMirrorUrl } from './python-mirror';
import { registryMirrorUrl } from './registry-mirror';
import { runningService, servicePaths, startService, stopService, waitUntil } from './processes';

export type WorkerRole = 'control' | 'execution';

export interface WorkerStatus {
  role: WorkerRole;
  taskQueue: string;
  healthy: boolean;
  pid?: number;
  pollers: number;
  /** False when the worker's entry file does not exist yet, so there is nothing to start. */
  available: boolean;
  error?: string;
  /** What the worker says it is doing ("polling since …", "paused since …: the Docker engine … does not answer"). */
  state?: string;
  /** An execution worker's runs at once, and whether the setting or its host's size gave the number. */
  slots?: ExecutionSlots;
}

const SOURCE_DIRS = ['src', 'workflows', 'activities', 'policies'];

export function workerServiceName(role: WorkerRole): string {
  return `${role}-worker`;
}

export function workerEntry(projectRoot: string, role: WorkerRole): string {
  return path.join(projectRoot, 'src', 'workers', `${role}.ts`);
}

function queueFor(config: RegattaConfig, role: WorkerRole): string {
  return role === 'control' ? config.queues.control : config.queues.execution;
}

/** Sizes and modification times of the worker's source: cheap, and changes whenever the code does. */
export function sourceFingerprint(projectRoot: string): string {
  const hash = createHash('sha256');
  const visit = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else {
        const stat = fs.statSync(full);
        hash.update(`${path.relative(projectRoot, full)}:${stat.size}:${stat.mtimeMs}\n`);
      }
    }
  };
  SOURCE_DIRS.forEach((dir) => visit(path.join(projectRoot, dir)));
  for (const file of ['package-lock.json', 'tsconfig.json']) {
    const full = path.join(projectRoot, file);
    if (fs.existsSync(full)) hash.update(`${file}:${fs.statSync(full).mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** The environment the workers read their configuration from: the stack's, spelled explicitly. */
function workerEnv(config: RegattaConfig): NodeJS.ProcessEnv {
  return {
    ...process.env,
    REGATTA_HOME: config.home,
    TEMPORAL_ADDRESS: config.temporal.address,
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    TEMPORAL_UI_URL: config.temporal.uiUrl,
    REGATTA_CONTROL_QUEUE: config.queues.control,
    REGATTA_EXECUTION_QUEUE: config.queues.execution,
    REGATTA_SANDBOX_IMAGE: config.sandboxImage,
    REGATTA_ARTIFACT_DIR: config.artifactDir,
    REGATTA_GIT_PORT: String(config.gitPort),
    // Sandboxes on registry_only install through the host's read-only mirror (the fleet's scope and the upstream), and nothing else.
    REGATTA_SANDBOX_REGISTRY: process.env.REGATTA_SANDBOX_REGISTRY ?? registryMirrorUrl(),
    // Python packages likewise, from the stack's proxpi mirror of the host's index.
    REGATTA_PYTHON_INDEX: process.env.REGATTA_PYTHON_INDEX ?? pythonMirrorUrl(),
  };
}

interface Poller {
  identity: string;
  lastAccessMs: number;
}

async function queuePollers(config: RegattaConfig, role: WorkerRole): Promise<Poller[]> {
  const connection = await Connection.connect({
    address: config.temporal.address,
    tls: config.temporal.tls ? {} : undefined,
    apiKey: config.temporal.apiKey,
    connectTimeout: '2s',
  });
  try {
    const response = await connection.workflowService.describeTaskQueue({
      namespace: config.temporal.namespace,
      taskQueue: { name: queueFor(config, role) },
      // 1 = workflow tasks (the control worker runs workflows), 2 = activity tasks.
      taskQueueType: role === 'control' ? 1 : 2,
    });
    return (response.pollers ?? []).map((p) => ({
      identity: p.identity ?? '',
      lastAccessMs: Number(p.lastAccessTime?.seconds ?? 0) * 1000 + Math.floor((p.lastAccessTime?.nanos ?? 0) / 1e6),
    }));
  } finally {
    await connection.close();
  }
}

export async function ensureWorker(config: RegattaConfig, role: WorkerRole): Promise<WorkerStatus> {
  const entry = workerEntry(config.projectRoot, role);
  const name = workerServiceName(role);
  if (!fs.existsSync(entry))
    return {
      role,
      taskQueue: queueFor(config, role),
      healthy: false,
      pollers: 0,
      available: false,
      error: `${path.relative(config.projectRoot, entry)} does not exist yet`,
    };
  const fingerprint = sourceFingerprint(config.projectRoot);
  const running = runningService(config.home, name);
  if (running && running.fingerprint !== fingerprint) await stopService(config.home, name);
  const record = startService(config.home, {
    name,
    command: process.execPath,
    args: ['--require', 'tsx/cjs', entry],
    cwd: config.projectRoot,
    env: workerEnv(config),
    fingerprint,
  });
  const startedMs = Date.parse(record.startedAt) - 1_000;
  await waitUntil(async () => (await queuePollers(config, role)).some((p) => p.lastAccessMs >= startedMs), {
    what: `${role} worker polling ${queueFor(config, role)}`,
    timeoutMs: 120_000,
    intervalMs: 1_000,
    pid: record.pid,
    logFile: servicePaths(config.home, name).logFile,
  });
  return workerStatus(config, role);
}

export async function workerStatus(config: RegattaConfig, role: WorkerRole): Promise<WorkerStatus> {
  const taskQueue = queueFor(config, role);
  const available = fs.existsSync(workerEntry(config.projectRoot, role));
  const record = runningService(config.home, workerServiceName(role));
  // Dead workers linger in the poller list for minutes; a live one re-polls at least every ~60 s.
  const pollers = (await queuePollers(config, role).catch(() => [] as Poller[])).filter(
    (p) => Date.now() - p.lastAccessMs < 75_000,
  );
  if (!record)
    return {
      role,
      taskQueue,
      healthy: false,
      pollers: pollers.length,
      available,
      error: available ? 'not running' : 'no worker entry yet',
    };
  // A paused worker's pollers linger in Temporal's list for a while; its own word is what counts.
  const own = role === 'execution' ? readWorkerState(config.home, record.pid) : undefined;
  const state = own ? describeWorkerState(own) : undefined;
  const slots = own?.slots;
  if (own?.state === 'paused')
    return {
      role,
      taskQueue,
      healthy: false,
      pid: record.pid,
      pollers: pollers.length,
      available,
      state,
      slots,
      error: `takes no runs: ${state}`,
    };
  return {
    role,
    taskQueue,
    healthy: pollers.length > 0,
    pid: record.pid,
    pollers: pollers.length,
    available,
    state,
    slots,
    error: pollers.length ? undefined : 'running but not polling yet',
  };
}

/** How many runs the stack's execution worker takes at once, from its own state file; undefined while none runs. */
export function executionWorkerSlots(config: RegattaConfig): ExecutionSlots | undefined {
  const record = runningService(config.home, workerServiceName('execution'));
  return record ? readWorkerState(config.home, record.pid)?.slots : undefined;
}
