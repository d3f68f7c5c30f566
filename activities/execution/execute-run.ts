/**
 * executeRun (execution plane): clone → sandbox → recipe steps → verification → patch → artifacts → evidence.
 * It decides nothing: it does what the ExecutionSpec allows and hands back evidence for the control plane to judge.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Context, CancelledFailure } from '@temporalio/activity';
import type Docker from 'dockerode';
import { ExecutionSpec as ExecutionSpecSchema, type ArtifactRef, type ExecutionResult, type ExecutionSpec, type Failure, type StepEvent, type VerificationReport } from '../../src/contracts';
import { hashSpec } from '../../src/contracts/hash';
import { parseContract } from '../../src/contracts/validate';
import { runArtifactKey, type ArtifactStore } from '../../src/artifacts/store';
import { computePatch, shallowClone } from '../../src/git/workspace';
import { applyStep } from '../../src/recipes';
import { reapContainers, Sandbox, SANDBOX_USER, type CommandResult, type SandboxNetwork } from '../../src/sandbox/driver';
import { verify } from './verify';

export interface ExecutionDeps {
  docker: Docker;
  artifacts: ArtifactStore;
  image: string;
  /** Per-attempt workspaces are created under this directory and removed afterwards. */
  workspaceRoot: string;
  /** How a sandbox reaches the network for profiles other than `none` (absent: such runs fail as infra). */
  networkFor?: (profile: ExecutionSpec['network']) => Promise<SandboxNetwork>;
  /** The worker's identity, recorded in the evidence. */
  identity?: string;
}

class RunLog {
  readonly events: StepEvent[] = [];
  readonly lines: string[] = [];
  readonly commands: string[] = [];

  emit(event: Omit<StepEvent, 'seq' | 'at'>): void {
    this.events.push({ seq: this.events.length, at: new Date().toISOString(), ...event });
  }

  command(kind: StepEvent['kind'], name: string, result: CommandResult): void {
    this.lines.push(`$ ${result.command}`, result.output.trimEnd(), `[exit ${result.exitCode} in ${result.durationMs} ms${result.outputTruncated ? `, output capped at ${result.output.length} of ${result.outputBytes} bytes` : ''}]`, '');
    this.emit({ kind, name, allowed: true, exitCode: result.exitCode, durationMs: result.durationMs, outputBytes: result.outputBytes, outputTruncated: result.outputTruncated, detail: result.timedOut ? 'timed out' : undefined });
  }
}

export function createExecutionActivities(deps: ExecutionDeps) {
  return {
    async executeRun(input: ExecutionSpec): Promise<ExecutionResult> {
      const spec = parseContract(ExecutionSpecSchema, input, 'execution spec');
      return new Attempt(deps, spec).run();
    },
  };
}

class Attempt {
  private readonly ctx = Context.current();
  private readonly attempt = this.ctx.info.attempt;
  private readonly log = new RunLog();
  private readonly startedAt = new Date().toISOString();
  private readonly workspace: string;
  private sandbox?: Sandbox;
  private phase = 'starting';

  constructor(
    private readonly deps: ExecutionDeps,
    private readonly spec: ExecutionSpec,
  ) {
    this.workspace = path.join(deps.workspaceRoot, spec.runId.replace(/[^A-Za-z0-9._-]/g, '_'), `attempt-${this.attempt}`);
  }

  async run(): Promise<ExecutionResult> {
    const heartbeat = setInterval(() => this.beat(), 2_000);
    const onCancel = () => void this.sandbox?.remove();
    this.ctx.cancellationSignal.addEventListener('abort', onCancel);
    const deadline = setTimeout(() => {
      this.phase = 'timed out';
      void this.sandbox?.remove();
    }, this.spec.limits.runTimeoutMs);
    try {
      return await this.execute();
    } finally {
      clearInterval(heartbeat);
      clearTimeout(deadline);
      this.ctx.cancellationSignal.removeEventListener('abort', onCancel);
      await this.sandbox?.remove().catch(() => undefined);
      fs.rmSync(this.workspace, { recursive: true, force: true });
    }
  }

  private beat(step?: string): void {
    this.ctx.heartbeat({ phase: this.phase, step, events: this.log.events.length });
  }

  private enter(phase: string): void {
    this.phase = phase;
    this.beat();
    if (this.ctx.cancellationSignal.aborted) throw new CancelledFailure('the run was cancelled');
  }

  private async execute(): Promise<ExecutionResult> {
    fs.rmSync(this.workspace, { recursive: true, force: true });
    this.enter('cloning');
    let baseCommit: string;
    try {
      baseCommit = (await shallowClone({ url: this.spec.repo.url, ref: this.spec.repo.ref, dir: this.workspace })).commit;
      this.log.emit({ kind: 'workspace', name: 'clone', allowed: true, detail: `${this.spec.repo.url}@${this.spec.repo.ref} → ${baseCommit}` });
    } catch (err) {
      return this.finish('failed', { kind: 'infra', message: `cannot clone ${this.spec.repo.url}@${this.spec.repo.ref}: ${(err as Error).message}` });
    }
    handWorkspaceToSandbox(this.workspace);

    this.enter('starting sandbox');
    // An earlier attempt of this run lost its lease; its sandbox must not outlive it.
    await reapContainers(this.deps.docker, { runId: this.spec.runId, belowAttempt: this.attempt });
    this.sandbox = await Sandbox.start(this.deps.docker, {
      image: this.deps.image,
      workspaceDir: this.workspace,
      runId: this.spec.runId,
      attempt: this.attempt,
      user: sandboxUser(),
      limits: this.spec.limits,
      network: await this.network(),
    });

    for (const [index, step] of this.spec.steps.entries()) {
      const name = step.name ?? `${index + 1}: ${step.recipe}`;
      this.enter(`step ${name}`);
      const outcome = await applyStep(step, {
        exec: (command) => this.exec(command),
        emit: (event) => this.log.emit(event),
      });
      for (const result of outcome.results) this.log.command('command', name, result);
      this.log.commands.push(...outcome.commands);
      this.log.emit({ kind: 'step', name, allowed: true, detail: outcome.detail });
      if (this.phase === 'timed out') return this.finish('failed', { kind: 'timeout', message: `the run exceeded ${this.spec.limits.runTimeoutMs} ms` });
      if (!outcome.ok) {
        const timedOut = outcome.results.some((r) => r.timedOut);
        return this.finish('failed', { kind: timedOut ? 'timeout' : 'agent', message: `step "${name}" failed: ${outcome.detail}` }, baseCommit);
      }
    }

    this.enter('verifying');
    const verification = await verify(this.spec.verify, (command) => this.exec(command), (result) => this.log.command('verifier', result.command, result));
    this.log.commands.push(...this.spec.verify.commands);
    return this.finish(undefined, undefined, baseCommit, verification);
  }

  private async exec(command: string): Promise<CommandResult> {
    this.beat(command);
    return this.sandbox!.exec(command);
  }

  private async network(): Promise<SandboxNetwork> {
    if (this.spec.network === 'none') return { mode: 'none' };
    if (!this.deps.networkFor) throw new Error(`this execution worker cannot provide the ${this.spec.network} network profile`);
    return this.deps.networkFor(this.spec.network);
  }

  /** Computes the patch (unless the run already failed), stores the evidence and builds the result. */
  private async finish(outcome: 'failed' | undefined, failure?: Failure, baseCommit?: string, verification: VerificationReport = { verdict: 'skipped', commands: [] }): Promise<ExecutionResult> {
    this.enter('collecting evidence');
    let touchedFiles: string[] = [];
    const artifacts: ArtifactRef[] = [];
    if (!outcome && baseCommit) {
      const patch = await computePatch(this.workspace);
      touchedFiles = patch.touchedFiles;
      this.log.emit({ kind: 'patch', name: 'patch', allowed: patch.refused.length === 0, detail: `${touchedFiles.length} file(s) changed` });
      for (const refused of patch.refused) this.log.emit({ kind: 'patch', name: refused.path, allowed: false, detail: refused.reason });
      if (patch.refused.length > 0) {
        outcome = 'failed';
        failure = { kind: 'policy', message: `changes that cannot be carried: ${patch.refused.map((r) => `${r.path} (${r.reason})`).join('; ')}` };
      } else if (touchedFiles.length > 0) {
        artifacts.push(await this.store('patch.diff', patch.patch, 'patch'));
      }
    }
    artifacts.push(await this.store('steps.log', this.log.lines.join('\n'), 'log'));
    artifacts.push(await this.store('verification.json', JSON.stringify(verification, null, 2), 'verification'));
    artifacts.push(await this.store('events.json', JSON.stringify(this.log.events, null, 2), 'events'));
    const manifest = { runId: this.spec.runId, attempt: this.attempt, artifacts };
    artifacts.push(await this.store('manifest.json', JSON.stringify(manifest, null, 2), 'manifest'));

    return {
      runId: this.spec.runId,
      attempt: this.attempt,
      specHash: hashSpec(this.spec),
      outcome: outcome ?? (touchedFiles.length > 0 ? 'changed' : 'no_changes'),
      failure,
      touchedFiles,
      commands: [...new Set(this.log.commands)],
      baseCommit,
      verification,
      cost: { promptTokens: 0, completionTokens: 0, usd: 0 },
      manifest,
      worker: { identity: this.deps.identity ?? `execution@${os.hostname()}/${process.pid}`, hostname: os.hostname() },
      startedAt: this.startedAt,
      finishedAt: new Date().toISOString(),
    };
  }

  private store(name: string, body: string, type: ArtifactRef['type']): Promise<ArtifactRef> {
    return this.deps.artifacts.put(runArtifactKey(this.spec.runId, this.attempt, name), body, type);
  }
}

/** A root worker runs sandboxes as the image's unprivileged user; any other worker, as itself (still not root). */
function sandboxUser(): string {
  return process.getuid?.() === 0 ? SANDBOX_USER : `${process.getuid?.()}:${process.getgid?.()}`;
}

/** The sandbox runs as uid 10001; a root worker hands it the workspace it cloned. */
function handWorkspaceToSandbox(dir: string): void {
  if (process.getuid?.() !== 0) return;
  const walk = (p: string) => {
    fs.lchownSync(p, 10001, 10001);
    if (fs.lstatSync(p).isDirectory()) for (const entry of fs.readdirSync(p)) walk(path.join(p, entry));
  };
  walk(dir);
}
