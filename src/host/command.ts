/**
 * Runs commands on the host, never in a sandbox, and turns failures into readable errors: the toolchain cache's npm and
 * tar on execution workers, and the dev stack's apt, go, docker and git.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Streams output lines here as they arrive (e.g. a log file), besides capturing them. */
  onOutput?: (chunk: string) => void;
  timeoutMs?: number;
}

export function runCommand(command: string, args: string[], options: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      options.onOutput?.(d.toString());
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      options.onOutput?.(d.toString());
    });
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: `${stderr}${err.message}` });
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

export class CommandFailedError extends Error {
  readonly type = 'infra' as const;
  constructor(
    readonly command: string,
    readonly result: CommandResult,
  ) {
    const output = `${result.stderr}${result.stdout}`.trim().split('\n').slice(-20).join('\n');
    super(`\`${command}\` exited with ${result.code}${output ? `:\n${output}` : ''}`);
    this.name = 'CommandFailedError';
  }
}

/** Runs a command that must succeed; the error carries the command line and the tail of its output. */
export async function runChecked(
  command: string,
  args: string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) throw new CommandFailedError([command, ...args].join(' '), result);
  return result;
}

export async function commandSucceeds(command: string, args: string[], options: CommandOptions = {}): Promise<boolean> {
  return (await runCommand(command, args, options)).code === 0;
}
