/**
 * Supervision of the local stack's background services: each one is a detached process with its log in
 * <home>/logs/<name>.log and its pid in <home>/run/<name>.pid, so any later `regatta dev …` can find it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Recorded beside the pid; a service whose fingerprint changed is restarted by its owner. */
  fingerprint?: string;
}

export interface ServiceRecord {
  name: string;
  pid: number;
  command: string;
  args: string[];
  startedAt: string;
  fingerprint?: string;
}

export interface ServicePaths {
  logFile: string;
  pidFile: string;
  recordFile: string;
}

export function servicePaths(home: string, name: string): ServicePaths {
  return {
    logFile: path.join(home, 'logs', `${name}.log`),
    pidFile: path.join(home, 'run', `${name}.pid`),
    recordFile: path.join(home, 'run', `${name}.json`),
  };
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    return /^\S+\s+\(.*\)\s+Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A pid is ours only while its command line still names our command: pids are reused after a reboot. */
function pidRunsCommand(pid: number, command: string): boolean {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const base = path.basename(command);
    return argv.some((arg) => arg === command || path.basename(arg) === base);
  } catch {
    return isPidAlive(pid);
  }
}

export function readServiceRecord(home: string, name: string): ServiceRecord | undefined {
  const { pidFile, recordFile } = servicePaths(home, name);
  if (!fs.existsSync(pidFile)) return undefined;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return { ...(JSON.parse(fs.readFileSync(recordFile, 'utf8')) as ServiceRecord), pid };
  } catch {
    return { name, pid, command: '', args: [], startedAt: '' };
  }
}

/** The record of a service that is running now, or undefined (stale pid files are removed). */
export function runningService(home: string, name: string): ServiceRecord | undefined {
  const record = readServiceRecord(home, name);
  if (!record) return undefined;
  const alive = isPidAlive(record.pid) && (!record.command || pidRunsCommand(record.pid, record.command));
  if (alive) return record;
  removeServiceRecord(home, name);
  return undefined;
}

function removeServiceRecord(home: string, name: string): void {
  const { pidFile, recordFile } = servicePaths(home, name);
  fs.rmSync(pidFile, { force: true });
  fs.rmSync(recordFile, { force: true });
}

/** Starts a detached service unless one is already running under this name; returns its record. */
export function startService(home: string, spec: ServiceSpec): ServiceRecord {
  const existing = runningService(home, spec.name);
  if (existing) return existing;
  const paths = servicePaths(home, spec.name);
  fs.mkdirSync(path.dirname(paths.logFile), { recursive: true });
  fs.mkdirSync(path.dirname(paths.pidFile), { recursive: true });
  const log = fs.openSync(paths.logFile, 'a');
  fs.writeSync(log, `\n--- ${new Date().toISOString()} starting ${spec.command} ${spec.args.join(' ')}\n`);
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    detached: true,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  if (child.pid === undefined)
    throw new Error(`could not start ${spec.name}: ${spec.command} did not spawn (is it installed?)`);
  child.on('error', () => undefined);
  child.unref();
  const record: ServiceRecord = {
    name: spec.name,
    pid: child.pid,
    command: spec.command,
    args: spec.args,
    startedAt: new Date().toISOString(),
    fingerprint: spec.fingerprint,
  };
  fs.writeFileSync(paths.pidFile, `${child.pid}\n`);
  fs.writeFileSync(paths.recordFile, `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

/** Stops a service (its whole process group), politely first; true when something was stopped. */
export async function stopService(home: string, name: string, graceMs = 10_000): Promise<boolean> {
  const record = runningService(home, name);
  if (!record) return false;
  signalGroup(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isPidAlive(record.pid) && Date.now() < deadline) await sleep(100);
  if (isPidAlive(record.pid)) signalGroup(record.pid, 'SIGKILL');
  removeServiceRecord(home, name);
  return true;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

export function logTail(file: string, lines = 30): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n')
      .trimEnd();
  } catch {
    return `(no log at ${file})`;
  }
}

export class ServiceStartError extends Error {
  readonly type = 'infra' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ServiceStartError';
  }
}

export interface WaitOptions {
  /** What is being waited for, in words a user recognises ("Temporal dev server on 127.0.0.1:7233"). */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** The log whose tail explains a failure. */
  logFile?: string;
  /** The pid whose death ends the wait early. */
  pid?: number;
}

/** Polls `check` until it returns true; on timeout or process death, throws with the log's tail. */
export async function waitUntil(check: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    const died = options.pid !== undefined && !isPidAlive(options.pid);
    if (died || Date.now() >= deadline) {
      const why = died
        ? `its process (pid ${options.pid}) exited`
        : `not ready after ${Math.round(options.timeoutMs / 1000)}s`;
      const tail = options.logFile ? `\n--- last lines of ${options.logFile}:\n${logTail(options.logFile)}` : '';
      throw new ServiceStartError(`${options.what}: ${why}${lastError ? ` (last error: ${lastError})` : ''}${tail}`);
    }
    await sleep(options.intervalMs ?? 250);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A service port from the environment (e.g. REGATTA_S3_PORT), so two stacks can run side by side. */
export function portFromEnv(variable: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`${variable}=${JSON.stringify(raw)}: expected a port number between 1 and 65535`);
  return port;
}
