/**
 * How many runs an execution worker takes at once. Each run holds a sandbox with its own CPU and memory limits on
 * the worker's Docker engine, so that engine's host bounds it, not the SDK's default of a hundred activity slots:
 * a worker that takes more runs than its host can hold slows every one of them, or has the kernel kill them.
 */
import os from 'node:os';
import type Docker from 'dockerode';

export interface HostCapacity {
  cpus: number;
  memoryBytes: number;
}

export interface ExecutionSlots {
  slots: number;
  /** Where the number came from: "REGATTA_EXECUTION_SLOTS", or "derived from 2 CPUs / 23.5 GiB". */
  source: string;
}

const GIB = 1024 ** 3;
/** Each sandbox's memory limit (and swap), as workflows/execution-spec.ts sets it; a test keeps the two equal. */
export const SANDBOX_MEMORY_BYTES = GIB;
/** Memory left to the OS, the Docker engine, the worker, and the clones and uploads it does outside sandboxes. */
const HOST_RESERVE_BYTES = 2 * GIB;
/** A sandbox gets one CPU but spends much of a run waiting on clones, installs and the model, so two share one. */
const RUNS_PER_CPU = 2;
const ENGINE_INFO_TIMEOUT_MS = 3_000;

/**
 * Two runs per CPU, capped so that every sandbox can fill its memory limit at once beside the host's reserve: past
 * that the kernel's OOM killer picks victims, the engine or the worker among them. At least one, on any host.
 */
export function deriveExecutionSlots(host: HostCapacity, perRunMemoryBytes = SANDBOX_MEMORY_BYTES): number {
  const byCpu = RUNS_PER_CPU * host.cpus;
  const byMemory = Math.floor((host.memoryBytes - HOST_RESERVE_BYTES) / perRunMemoryBytes);
  return Math.max(1, Math.min(byCpu, byMemory));
}

/** The setting when there is one (validated by loadConfig), otherwise the number derived from `host`. */
export function executionSlots(setting: number | undefined, host: HostCapacity): ExecutionSlots {
  if (setting !== undefined) return { slots: setting, source: 'REGATTA_EXECUTION_SLOTS' };
  return {
    slots: deriveExecutionSlots(host),
    source: `derived from ${host.cpus} CPU${host.cpus === 1 ? '' : 's'} / ${(host.memoryBytes / GIB).toFixed(1)} GiB`,
  };
}

/** "4 runs at once (derived from 2 CPUs / 23.5 GiB)": for logs and `regatta dev status`. */
export function describeExecutionSlots({ slots, source }: ExecutionSlots): string {
  return `${slots} run${slots === 1 ? '' : 's'} at once (${source})`;
}

/**
 * The host the sandboxes run on, as the Docker engine reports it (it may be a VM or another machine); this process's
 * host when the engine does not answer, since the worker runs beside its engine.
 */
export async function engineHostCapacity(docker: Docker): Promise<HostCapacity> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>(
    (resolve) => (timer = setTimeout(() => resolve(undefined), ENGINE_INFO_TIMEOUT_MS)),
  );
  try {
    const info: { NCPU?: number; MemTotal?: number } | undefined = await Promise.race([
      docker.info().catch(() => undefined),
      timeout,
    ]);
    if (info?.NCPU && info.MemTotal) return { cpus: info.NCPU, memoryBytes: info.MemTotal };
  } finally {
    clearTimeout(timer);
  }
  return { cpus: os.availableParallelism(), memoryBytes: os.totalmem() };
}
