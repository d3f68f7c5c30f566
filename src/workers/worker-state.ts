/**
 * What an execution worker process is doing, written beside the stack's pid files so `regatta dev status` can say
 * why a worker that is alive takes no runs (its Docker engine is unreachable) without asking the worker itself.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface ExecutionWorkerState {
  state: 'polling' | 'paused';
  /** When the worker entered this state (ISO time). */
  since: string;
  /** Why it is paused (the engine's address and error). */
  reason?: string;
  identity: string;
  taskQueue: string;
  pid: number;
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

/** One line for a status table: "polling since …" or "paused since …: <reason>". */
export function describeWorkerState(state: ExecutionWorkerState): string {
  return state.state === 'polling' ? `polling since ${state.since}` : `paused since ${state.since}: ${state.reason ?? 'Docker engine unreachable'}`;
}
