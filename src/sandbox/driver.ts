/**
 * The Docker sandbox: one container per run attempt, hardened (non-root, no capabilities, no-new-privileges,
 * read-only root, pids/memory/CPU limits, no host environment), with every command run through `exec`.
 */
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import type { SandboxLimits } from '../contracts';

export const SANDBOX_USER = '10001:10001';
export const MANAGED_LABEL = 'regatta.managed';
export const RUN_LABEL = 'regatta.run';
export const ATTEMPT_LABEL = 'regatta.attempt';
/** When the attempt's own deadline has passed (epoch ms): past it, any worker sharing the engine may reap the container. */
export const EXPIRES_LABEL = 'regatta.expires';

/** Docker's API as Debian's engine (20.10) speaks it; never ask for a newer one. */
export function dockerClient(): Docker {
  return new Docker({ version: 'v1.41' });
}

/** A request the egress proxy refused, with the sandbox address it came from. */
export interface EgressRefusal {
  at: number;
  from: string;
  method: string;
  destination: string;
  path: string;
  reason: string;
}

export type SandboxNetwork =
  | { mode: 'none' }
  | {
      mode: 'network';
      name: string;
      env: Record<string, string>;
      refusalsFrom?: (address: string, sinceMs: number) => EgressRefusal[];
    };

export interface SandboxOptions {
  image: string;
  workspaceDir: string;
  runId: string;
  attempt: number;
  /** uid:gid inside the container; never root. */
  user?: string;
  limits: SandboxLimits;
  network: SandboxNetwork;
  /** Epoch ms after which no live attempt can still own this container. */
  expiresAt?: number;
  /** Host paths given to the sandbox besides the workspace (a CA bundle, a toolchain), always read-only. */
  mounts?: SandboxMount[];
  /** Environment beyond the base and the network's (e.g. PATH for the run's toolchain); never a secret. */
  env?: Record<string, string>;
}

export interface SandboxMount {
  hostPath: string;
  containerPath: string;
}

export interface CommandResult {
  command: string;
  exitCode: number;
  output: string;
  outputBytes: number;
  outputTruncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

const BASE_ENV = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'HOME=/home/regatta',
  'LANG=C.UTF-8',
  'npm_config_cache=/tmp/npm-cache',
  'npm_config_update_notifier=false',
];
/** Past this many times the output cap, a command is stopped rather than drained. */
const DRAIN_FACTOR = 8;
/** How often a command's own process is checked for exit while something keeps its output stream open. */
const EXIT_POLL_MS = 250;
/** After a command's own process exits, how long its output may still drain before its leftovers are stopped. */
const DRAIN_AFTER_EXIT_MS = 1_000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Docker's answer for a container removed, or not running, under a call. */
function isGone(err: unknown): boolean {
  const status = (err as { statusCode?: number }).statusCode;
  return status === 404 || status === 409;
}

/** `uid:gid` as numbers; a sandbox never runs as root, whatever asks for it. */
function parseUser(user: string): [number, number] {
  const match = /^(\d+):(\d+)$/.exec(user);
  if (!match) throw new Error(`a sandbox user is "uid:gid" in numbers, got "${user}"`);
  const [uid, gid] = [Number(match[1]), Number(match[2])];
  if (uid === 0 || gid === 0) throw new Error('a sandbox never runs as root');
  return [uid, gid];
}

/**
 * The seam for network profiles beyond `none`: the worker attaches the container to a network it prepared
 * (e.g. an internal network whose only way out is an egress proxy) and passes the proxy settings here.
 */
function networkEnv(network: SandboxNetwork): string[] {
  return network.mode === 'network' ? Object.entries(network.env).map(([k, v]) => `${k}=${v}`) : [];
}

/** `KEY=value` lists, later ones winning, so a run's PATH replaces the base one instead of doubling it. */
function mergeEnv(...lists: string[][]): string[] {
  const merged = new Map<string, string>();
  for (const entry of lists.flat()) merged.set(entry.slice(0, entry.indexOf('=')), entry);
  return [...merged.values()];
}

/** Bytes a marker of omitted output may take, so head + marker + tail stays within the cap. */
const MARKER_BYTES = 64;

/**
 * Keeps a command's output within its cap: the first half and the last half, because tools print what matters at
 * both ends (what ran, and the summary: a TAP plan, npm's failing script).
 */
class HeadAndTail {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;

  constructor(private readonly cap: number) {}

  add(chunk: Buffer): void {
    const headRoom = Math.floor(this.cap / 2) - this.headBytes;
    if (headRoom > 0) {
      const part = chunk.subarray(0, headRoom);
      this.head.push(part);
      this.headBytes += part.length;
      chunk = chunk.subarray(part.length);
    }
    if (chunk.length === 0) return;
    const tailRoom = Math.max(0, this.cap - Math.floor(this.cap / 2) - MARKER_BYTES);
    this.tail.push(chunk.subarray(Math.max(0, chunk.length - tailRoom)));
    this.tailBytes += Math.min(chunk.length, tailRoom);
    while (this.tailBytes - this.tail[0]!.length >= tailRoom) this.tailBytes -= this.tail.shift()!.length;
  }

  text(seen: number): string {
    const head = Buffer.concat(this.head);
    let tail = Buffer.concat(this.tail);
    const tailRoom = Math.max(0, this.cap - Math.floor(this.cap / 2) - MARKER_BYTES);
    if (tail.length > tailRoom) tail = tail.subarray(tail.length - tailRoom);
    const omitted = seen - head.length - tail.length;
    if (omitted <= 0) return Buffer.concat([head, tail]).toString('utf8');
    return `${head.toString('utf8')}\n[regatta: ${omitted} bytes omitted]\n${tail.toString('utf8')}`;
  }
}

export class Sandbox {
  private readonly user: string;
  private removal?: Promise<void>;
  private commands: Promise<unknown> = Promise.resolve();
  /** Host pids of docker-init and `sleep infinity`: anything else alive between commands was left by one. */
  private baseline = new Set<string>();

  private constructor(
    private readonly docker: Docker,
    readonly container: Docker.Container,
    private readonly options: SandboxOptions,
  ) {
    this.user = parseUser(options.user ?? SANDBOX_USER).join(':');
  }

  static async start(docker: Docker, options: SandboxOptions): Promise<Sandbox> {
    const { limits } = options;
    const [uid, gid] = parseUser(options.user ?? SANDBOX_USER);
    const container = await docker.createContainer({
      Image: options.image,
      Cmd: ['sleep', 'infinity'],
      User: `${uid}:${gid}`,
      WorkingDir: '/workspace',
      Env: mergeEnv(
        BASE_ENV,
        networkEnv(options.network),
        Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
      ),
      Labels: {
        [MANAGED_LABEL]: 'true',
        [RUN_LABEL]: options.runId,
        [ATTEMPT_LABEL]: String(options.attempt),
        ...(options.expiresAt ? { [EXPIRES_LABEL]: String(options.expiresAt) } : {}),
      },
      NetworkDisabled: options.network.mode === 'none',
      HostConfig: {
        Binds: [
          `${options.workspaceDir}:/workspace:rw`,
          ...(options.mounts ?? []).map((m) => `${m.hostPath}:${m.containerPath}:ro`),
        ],
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: true,
        Tmpfs: {
          // exec: compiled test binaries run from here (`go test` builds into GOTMPDIR); the workspace is executable anyway.
          '/tmp': 'rw,exec,nosuid,nodev,size=512m,mode=1777',
          '/home/regatta': `rw,nosuid,nodev,size=64m,uid=${uid},gid=${gid},mode=0700`,
        },
        PidsLimit: limits.pids,
        Memory: limits.memoryBytes,
        MemorySwap: limits.memoryBytes,
        NanoCpus: limits.nanoCpus,
        NetworkMode: options.network.mode === 'none' ? 'none' : options.network.name,
        Init: true,
        IpcMode: 'private',
      },
    });
    const sandbox = new Sandbox(docker, container, options);
    try {
      await container.start();
      await sandbox.takeBaseline();
    } catch (err) {
      await sandbox.remove();
      throw err;
    }
    return sandbox;
  }

  /**
   * Runs `sh -c command` in /workspace. A command past its time or output limit is stopped with everything it
   * started; one that exits keeps its exit code, and whatever it left running is stopped before the next command.
   */
  exec(command: string, timeoutMs = this.options.limits.commandTimeoutMs): Promise<CommandResult> {
    // One command at a time: the leftover check reads the whole container, so a second command would look like one.
    const result = this.commands.then(() => this.runCommand(command, timeoutMs));
    this.commands = result.catch(() => undefined);
    return result;
  }

  private async runCommand(command: string, timeoutMs: number): Promise<CommandResult> {
    const started = Date.now();
    const exec = await this.container.exec({
      Cmd: ['sh', '-c', command],
      AttachStdout: true,
      AttachStderr: true,
      WorkingDir: '/workspace',
      User: this.user,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const cap = this.options.limits.maxOutputBytes;
    const kept = new HeadAndTail(cap);
    let seen = 0;
    let stopped: 'timeout' | 'output' | undefined;
    let killing: Promise<void> | undefined;
    const stop = (reason: 'timeout' | 'output') => {
      stopped ??= reason;
      killing ??= this.killProcesses();
    };

    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      kept.add(chunk);
      if (seen > cap * DRAIN_FACTOR) stop('output');
    });
    this.docker.modem.demuxStream(stream, sink, sink);
    let streamOpen = true;
    const streamClosed = new Promise<void>((resolve) => {
      const close = () => {
        streamOpen = false;
        resolve();
      };
      stream.on('end', close);
      stream.on('close', close);
      stream.on('error', close);
    });

    const timer = setTimeout(() => stop('timeout'), timeoutMs);
    let exit: { exitCode: number | null } | undefined;
    try {
      exit = await this.mainProcessExit(exec, streamClosed, () => stopped !== undefined);
    } finally {
      clearTimeout(timer);
    }
    // Output still in flight when the main process ended gets a moment; a process it left holding the stream does not.
    if (exit && streamOpen) await Promise.race([streamClosed, delay(DRAIN_AFTER_EXIT_MS)]);
    await killing;
    const leftovers = stopped ? 0 : await this.stopLeftovers();
    if (streamOpen) stream.destroy();

    let output = kept.text(seen);
    if (stopped === 'timeout') output += `\n[regatta: stopped after ${timeoutMs} ms]`;
    if (stopped === 'output') output += `\n[regatta: stopped after printing more than ${cap * DRAIN_FACTOR} bytes]`;
    if (leftovers > 0)
      output += `\n[regatta: the command exited and left ${leftovers} process(es) running; they were stopped]`;
    return {
      command,
      exitCode: stopped ? 137 : (exit?.exitCode ?? 137),
      output,
      outputBytes: seen,
      outputTruncated: seen > cap,
      timedOut: stopped === 'timeout',
      durationMs: Date.now() - started,
    };
  }

  /**
   * Waits for the command's own process (`sh -c`) to exit, asking Docker when the stream closes and every
   * EXIT_POLL_MS while it stays open (a background process can hold it); undefined when the command was stopped.
   */
  private async mainProcessExit(
    exec: Docker.Exec,
    streamClosed: Promise<void>,
    wasStopped: () => boolean,
  ): Promise<{ exitCode: number | null } | undefined> {
    let wake: Promise<unknown> = streamClosed;
    for (;;) {
      await Promise.race([wake, delay(EXIT_POLL_MS)]);
      if (wasStopped()) return undefined;
      const info = await exec.inspect().catch(() => undefined);
      // An exec Docker no longer knows (the container was removed under it) has no exit code to report.
      if (!info) return { exitCode: null };
      if (!info.Running && info.ExitCode !== null) return { exitCode: info.ExitCode };
      wake = new Promise<never>(() => undefined);
    }
  }

  /**
   * Stops whatever a finished command left running, found from the host (`docker top` needs no fork inside a
   * sandbox a fork bomb has filled). Only then is the container restarted, which kills its whole process tree
   * (and resets its tmpfs): the price of leftovers, not of every command. Returns how many processes were left.
   */
  private async stopLeftovers(): Promise<number> {
    let leftovers: string[];
    try {
      leftovers = (await this.processIds()).filter((pid) => !this.baseline.has(pid));
    } catch (err) {
      // A container already removed (the run's deadline or cancellation) has nothing left to stop.
      if (isGone(err)) return 0;
      throw err;
    }
    if (leftovers.length > 0) await this.killProcesses();
    return leftovers.length;
  }

  /** Host-side ids of the container's live processes (zombies are left to docker-init, which reaps them). */
  private async processIds(): Promise<string[]> {
    const top = (await this.container.top({ ps_args: '-eo pid,stat' })) as { Titles: string[]; Processes: string[][] };
    const pid = top.Titles.indexOf('PID');
    const stat = top.Titles.indexOf('STAT');
    return top.Processes.filter((row) => !row[stat]?.startsWith('Z')).map((row) => row[pid]);
  }

  /** What runs in an idle sandbox: docker-init and its `sleep infinity`. Taken after every (re)start. */
  private async takeBaseline(): Promise<void> {
    for (let tries = 0; ; tries++) {
      const pids = await this.processIds();
      if (pids.length >= 2 || tries >= 40) {
        this.baseline = new Set(pids);
        return;
      }
      await delay(50);
    }
  }

  /** The container's address on its network (what the egress proxy sees), or undefined without a network. */
  async address(): Promise<string | undefined> {
    if (this.options.network.mode === 'none') return undefined;
    const info = await this.container.inspect();
    return info.NetworkSettings?.Networks?.[this.options.network.name]?.IPAddress || undefined;
  }

  /** Kills every process of the run (the container restarts with a fresh tmpfs; the workspace stays). */
  async killProcesses(): Promise<void> {
    await this.container.restart({ t: 0 });
    await this.takeBaseline();
  }

  /** Kills and removes the container; every caller (cancellation, deadline, cleanup) waits for the same removal. */
  remove(): Promise<void> {
    this.removal ??= this.container.remove({ force: true, v: true }).catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 404) {
        this.removal = undefined;
        throw err;
      }
    });
    return this.removal;
  }
}

export interface ReapFilter {
  runId?: string;
  /** Only containers created at least this long ago. */
  olderThanMs?: number;
  /** Only attempts numbered below this one (the sandboxes of attempts that lost their lease). */
  belowAttempt?: number;
  /** Only containers whose attempt deadline (EXPIRES_LABEL) has passed. */
  expired?: boolean;
  /** Only containers created before this moment (epoch ms) that no longer run (an engine outage killed them). */
  stoppedBefore?: number;
}

/** Removes the sandboxes of crashed or cancelled attempts, found by label; returns the ids removed. */
export async function reapContainers(docker: Docker, filter: ReapFilter = {}): Promise<string[]> {
  const labels = [`${MANAGED_LABEL}=true`, ...(filter.runId ? [`${RUN_LABEL}=${filter.runId}`] : [])];
  const containers = await docker.listContainers({ all: true, filters: { label: labels } });
  const now = Date.now();
  const reaped: string[] = [];
  for (const info of containers) {
    if (info.Created * 1000 > now - (filter.olderThanMs ?? 0)) continue;
    if (filter.belowAttempt !== undefined && Number(info.Labels[ATTEMPT_LABEL]) >= filter.belowAttempt) continue;
    if (filter.expired && !(Number(info.Labels[EXPIRES_LABEL]) < now)) continue;
    if (filter.stoppedBefore !== undefined && (info.State === 'running' || info.Created * 1000 > filter.stoppedBefore))
      continue;
    await docker
      .getContainer(info.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
    reaped.push(info.Id);
  }
  return reaped;
}
