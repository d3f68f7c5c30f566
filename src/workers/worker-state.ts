/**
 * What an execution worker process is doing, written beside the stack's pid files so `regatta dev status` can say
 * why a worker that is alive takes no runs (its Docker engine is unreachable) without asking the worker itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describeExecutionSlots, type ExecutionSlots } from './execution-slots';

export interface ExecutionWorkerState {
  state: 'polling' | 'paused';
  /** When the worker entered this state (ISO time). */
  since: string;
  /** Why it is paused (the engine's address and error). */
  reason?: string;
  identity: string;
  taskQueue: string;
  pid: number;
  /** How many runs it takes at once and where that number came from; absent in files of older workers. */
  slots?: ExecutionSlots;
}

export function workerStateFile(home: string, pid: number): string {
  return path.join(home, 'run', `execution-worker.${pid}.state.json`);
}

export function writeWorkerState(home: string, state: ExecutionWorkerState): void {
  const file = workerStateFile(home, state.pid);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Written whole and renamed, so a reader never sees half a state.
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state));
  fs.renameSync(`${file}.tmp`, file);
}

export function readWorkerState(home: string, pid: number): ExecutionWorkerState | undefined {
  try {
    return JSON.parse(fs.readFileSync(workerStateFile(home, pid), 'utf8')) as ExecutionWorkerState;
  } catch {
    return undefined;
  }
}

export function removeWorkerState(home: string, pid: number): void {
  fs.rmSync(workerStateFile(home, pid), { force: true });
}

/** Removes the state files of workers that died without cleaning up (killed), so a reused pid never inherits one. */
export function pruneDeadWorkerStates(home: string): void {
  const dir = path.dirname(workerStateFile(home, 0));
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const pid = Number(/^execution-worker\.(\d+)\.state\.json$/.exec(name)?.[1]);
    if (pid && !isAlive(pid)) removeWorkerState(home, pid);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One line for a status table: "polling since …, 4 runs at once (…)" or "paused since …: <reason>". */
export function describeWorkerState(state: ExecutionWorkerState): string {
  if (state.state === 'paused') return `paused since ${state.since}: ${state.reason ?? 'Docker engine unreachable'}`;
  return `polling since ${state.since}${state.slots ? `, ${describeExecutionSlots(state.slots)}` : ''}`;
}
