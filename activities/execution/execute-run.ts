/**
 * executeRun (execution plane): clone → ecosystems → toolchain → sandbox → baseline → recipe steps → verification → patch →
 * artifacts → evidence. The ecosystems the repository's root declares decide which steps and verify commands apply.
 * It decides nothing: it does what the ExecutionSpec allows and hands back evidence for the control plane to judge.
 *
 * What fails how:
 * - A clone that fails is retried here a few times, then the run returns outcome `failed` (kind `infra`),
 *   never a thrown error: a Temporal retry would meet the same unreachable repository, and one bad target
 *   must not hold up its campaign. A ref or repository the server says does not exist is not retried.
 * - A toolchain that cannot be prepared starts no sandbox: the run returns `failed`, kind `step` when no build
 *   satisfies what the spec or repository declares, kind `infra` when the registry or the host's cache failed.
 * - Docker and artifact-store errors throw: they belong to this worker, so Temporal retries the attempt
 *   (possibly on another worker) from a fresh workspace and a fresh container.
 * - Cancellation removes the sandbox and throws CancelledFailure; the run deadline removes it and returns
 *   outcome `failed` (kind `timeout`).
 */
import os from 'node:os';
import { Context, CancelledFailure } from '@temporalio/activity';
import type Docker from 'dockerode';
import {
  ExecutionSpec as ExecutionSpecSchema,
  type ArtifactRef,
  type ExecutionResult,
  type ExecutionSpec,
  type Failure,
  type PhaseDurations,
  type VerificationReport,
} from '../../src/contracts';
import { hashSpec } from '../../src/contracts/hash';
import { parseContract } from '../../src/contracts/validate';
import { runArtifactKey, type ArtifactStore } from '../../src/artifacts/store';
import { computePatch } from '../../src/git/workspace';
import { applyStep } from '../../src/recipes';
import {
  reapContainers,
  Sandbox,
  SANDBOX_USER,
  type CommandResult,
  type SandboxNetwork,
} from '../../src/sandbox/driver';
import { asEngineFailure, engineAddress, engineAnswers, engineUnavailableFailure } from '../../src/sandbox/engine';
import { sandboxTrust, type CaBundle } from '../../src/registry/ca-bundle';
import { registryFault } from '../../src/registry/faults';
import {
  describeToolchain,
  hostToolchains,
  ToolchainError,
  type PreparedToolchain,
  type Toolchains,
} from '../../src/toolchains';
import { runAgent, type AgentRunResult } from '../../src/agent/loop';
import type { ModelProvider } from '../../src/agent/model-provider';
import {
  baselineWanted,
  describeBaseline,
  failsAsOnBase,
  obtainBaseline,
  withBaseline,
  type BaselineOutcome,
} from './baseline';
import {
  describeEcosystems,
  detectEcosystems,
  verifyCommandsFor,
  whyNotApplicable,
  type EcosystemInUse,
} from './applicability';
import { cloneWithRetries } from './clone';
import { checkPatch } from './patch-checks';
import { collectJUnitReports, withJUnitCounts } from './junit';
import { RunLog } from './run-log';
import { TreeGuard } from './tree-guard';
import { verify } from './verify';
import { createAttemptWorkspace, type AttemptWorkspace } from './workspace';

export interface ExecutionDeps {
  docker: Docker;
  artifacts: ArtifactStore;
  image: string;
  /** Per-attempt workspaces are created under this directory and removed afterwards. */
  workspaceRoot: string;
  /** How a sandbox reaches the network for profiles other than `none` (absent: such runs throw, as infra). */
  networkFor?: (profile: ExecutionSpec['network']) => Promise<SandboxNetwork>;
  /** The worker's identity, recorded in the evidence. */
  identity?: string;
  /** Pauses between clone attempts; tests shorten them. */
  cloneRetryDelaysMs?: readonly number[];
  /** The model the agent loop talks to (or a recorded transcript); without one, runs use deterministic steps only. */
  model?: ModelProvider;
  /** The CA bundle every sandbox trusts (absent: only the image's own). */
  caBundle?: CaBundle;
  /** Where runs get the Node.js and package manager they declare (absent: this host's cache under REGATTA_HOME). */
  toolchains?: Toolchains;
}

export interface ExecutionActivities {
  executeRun(spec: ExecutionSpec): Promise<ExecutionResult>;
}

export function createExecutionActivities(deps: ExecutionDeps): ExecutionActivities {
  return {
    async executeRun(input: ExecutionSpec): Promise<ExecutionResult> {
      const spec = parseContract(ExecutionSpecSchema, input, 'execution spec');
      return new Attempt(deps, spec).run();
    },
  };
}

/** Thrown inside an attempt when its run deadline has passed; the attempt turns it into `failed`/`timeout` evidence. */
class RunDeadlinePassedError extends Error {}

const HEARTBEAT_INTERVAL_MS = 2_000;
/** Past the run deadline plus this, a container's attempt is certainly over and any worker may reap it. */
const CONTAINER_EXPIRY_GRACE_MS = 5 * 60_000;

class Attempt {
  private readonly ctx = Context.current();
  private readonly attempt = this.ctx.info.attempt;
  private readonly log = new RunLog();
  private readonly startedAtMs = Date.now();
  private readonly startedAt = new Date(this.startedAtMs).toISOString();
  private readonly specHash: string;
  private workspace?: AttemptWorkspace;
  private sandbox?: Sandbox;
  private sandboxNetwork?: SandboxNetwork;
  private sandboxAddress?: string;
  private phase = 'starting';
  private agent?: AgentRunResult;
  private step?: string;
  private deadlinePassed = false;
  /** Compares the tree before and after each verifier run; absent until verification first runs. */
  private guard?: TreeGuard;
  /** The command of the last verifier run that its per-command time limit stopped. */
  private verifierStopped?: string;
  private commandsRun = 0;
  /** commandsRun when the guard last took the tree's patch: equal to it means that patch is still the tree's. */
  private guardPatchAt = -1;
  private toolchain?: PreparedToolchain;
  /** The ecosystems the repository uses, from the manifest files at its root (known once it is cloned). */
  private ecosystems: EcosystemInUse[] = [];
  /** The verify commands for this repository: the plan's own and those of the ecosystems it uses. */
  private verifyCommands: string[] = [];
  /** The verify plan's result on the untouched base, when the run wants one. */
  private baseline?: BaselineOutcome;
  private readonly durations: PhaseDurations = {
    cloneMs: 0,
    toolchainMs: 0,
    sandboxStartMs: 0,
    stepsMs: 0,
    agentMs: 0,
    verifyMs: 0,
    evidenceMs: 0,
  };

  constructor(
    private readonly deps: ExecutionDeps,
    private readonly spec: ExecutionSpec,
  ) {
    this.specHash = hashSpec(spec);
    if (baselineWanted(spec, deps.model !== undefined)) this.durations.baselineMs = 0;
  }

  async run(): Promise<ExecutionResult> {
    const heartbeat = setInterval(() => this.beat(), HEARTBEAT_INTERVAL_MS);
    const onCancel = () => void this.sandbox?.remove().catch(() => undefined);
    this.ctx.cancellationSignal.addEventListener('abort', onCancel);
    const deadline = setTimeout(() => {
      this.deadlinePassed = true;
      void this.sandbox?.remove().catch(() => undefined);
    }, this.spec.limits.runTimeoutMs);
    try {
      return await this.execute();
    } catch (err) {
      if (err instanceof RunDeadlinePassedError)
        return this.finish({
          kind: 'timeout',
          message: `stopped by the run deadline (${this.spec.limits.runTimeoutMs} ms) in ${this.phase}${this.step ? `: ${this.step}` : ''}`,
        });
      // A cancellation the workflow asked for stays one; anything else that met a missing engine is waited out by the workflow.
      if (this.ctx.cancellationDetails?.cancelRequested) throw err;
      throw await asEngineFailure(this.deps.docker, err);
    } finally {
      clearInterval(heartbeat);
      clearTimeout(deadline);
      this.ctx.cancellationSignal.removeEventListener('abort', onCancel);
      await this.removeSandbox();
      this.workspace?.remove();
    }
  }

  /** Runs one phase's work and adds its time to that phase, whether it succeeds or not. */
  private async timed<T>(phase: keyof PhaseDurations, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.durations[phase] += Math.round(performance.now() - started);
    }
  }

  private beat(): void {
    this.ctx.heartbeat({ phase: this.phase, step: this.step, events: this.log.events.length });
  }

  /** Enters a phase: tells Temporal, and stops here when the run is no longer wanted. */
  private enter(phase: string, step?: string): void {
    this.phase = phase;
    this.step = step;
    this.beat();
    this.checkStillWanted();
  }

  private checkStillWanted(): void {
    if (this.ctx.cancellationSignal.aborted) throw new CancelledFailure('the run was cancelled');
    if (this.deadlinePassed) throw new RunDeadlinePassedError();
  }

  private async execute(): Promise<ExecutionResult> {
    // Activity ids differ between the workflow's retries after an engine fault, whose attempt numbers start again at 1.
    this.workspace = createAttemptWorkspace(
      this.deps.workspaceRoot,
      this.spec.runId,
      `${this.ctx.info.activityId}.${this.attempt}`,
    );
    this.enter('cloning');
    const checkout = {
      url: this.spec.repo.url,
      ref: this.spec.repo.ref,
      dir: this.workspace.tree,
      gitdir: this.workspace.gitdir,
    };
    const cloned = await this.timed('cloneMs', () =>
      cloneWithRetries(checkout, this.deps.cloneRetryDelaysMs, () => this.beat()),
    );
    if (!cloned.ok) {
      this.log.emit({ kind: 'workspace', name: 'clone', allowed: true, detail: cloned.message });
      return this.finish({ kind: 'infra', message: cloned.message });
    }
    const baseCommit = cloned.workspace.commit;
    this.log.emit({
      kind: 'workspace',
      name: 'clone',
      allowed: true,
      detail: `${this.spec.repo.url}@${this.spec.repo.ref} → ${baseCommit}`,
    });
    this.ecosystems = detectEcosystems(this.workspace.tree);
    this.verifyCommands = verifyCommandsFor(this.spec.verify, this.ecosystems);
    if (this.verifyCommands.length === 0) delete this.durations.baselineMs;
    this.log.emit({
      kind: 'workspace',
      name: 'ecosystems',
      allowed: true,
      detail: describeEcosystems(this.ecosystems),
    });

    this.enter('preparing toolchain');
    try {
      const tree = this.workspace.tree;
      this.toolchain = await this.timed('toolchainMs', () =>
        (this.deps.toolchains ?? hostToolchains()).prepare(tree, this.spec.toolchain),
      );
    } catch (err) {
      if (!(err instanceof ToolchainError)) throw err;
      this.log.emit({ kind: 'toolchain', name: 'toolchain', allowed: false, detail: err.message });
      return this.finish({ kind: err.kind, message: err.message }, baseCommit);
    }
    this.log.emit({
      kind: 'toolchain',
      name: 'toolchain',
      allowed: true,
      detail: describeToolchain(this.toolchain.tools),
    });

    this.enter('starting sandbox');
    await this.timed('sandboxStartMs', () => this.startSandbox());
    if (this.durations.baselineMs !== undefined) await this.timed('baselineMs', () => this.runBaseline(baseCommit));

    for (const [index, step] of this.spec.steps.entries()) {
      const name = step.name ?? `${index + 1}: ${step.recipe}`;
      const notApplicable = whyNotApplicable(step, this.ecosystems);
      if (notApplicable) {
        this.log.emit({ kind: 'step', name, allowed: true, detail: notApplicable });
        continue;
      }
      this.enter('step', name);
      const outcome = await this.timed('stepsMs', () =>
        applyStep(step, {
          exec: (command) => this.exec(command),
          emit: (event) => this.log.emit(event),
        }),
      );
      for (const result of outcome.results) this.log.command('command', name, result);
      this.log.commands.push(...outcome.commands);
      this.log.emit({ kind: 'step', name, allowed: true, exitCode: outcome.ok ? 0 : 1, detail: outcome.detail });
      if (!outcome.ok) {
        const stopped = outcome.results.find((r) => r.timedOut);
        const unreachable = stopped ? undefined : registryFault(outcome.results.map((r) => r.output).join('\n'));
        if (unreachable)
          return this.finish({ kind: 'infra', message: `step "${name}" failed: ${unreachable.message}` }, baseCommit);
        if (stopped)
          return this.finish(
            {
              kind: 'timeout',
              message: `step "${name}" was stopped by the per-command time limit (${this.spec.limits.commandTimeoutMs} ms): ${stopped.command}`,
            },
            baseCommit,
          );
        return this.finish({ kind: 'step', message: `step "${name}" failed: ${outcome.detail}` }, baseCommit);
      }
    }

    this.enter('verifying');
    const runVerifier = () => this.runVerification(baseCommit);
    let verification = await this.timed('verifyMs', runVerifier);
    this.log.commands.push(...this.verifyCommands);
    if (this.guard?.violations.length) return this.finish(this.verificationFailure(), baseCommit, verification);

    // Recipe first, agent on the residue: only when verification fails (or the campaign asks), and only with a model.
    const agent = this.spec.agent;
    const model = this.deps.model;
    if (agent && model && (agent.mode === 'always' || verification.verdict === 'failed')) {
      this.enter('agent');
      const outcome = await this.timed('agentMs', () =>
        runAgent({
          task: agent.task,
          workspaceDir: this.workspace!.tree,
          policy: {
            ...agent,
            allowedPaths: [...this.spec.allowedPaths, ...(this.spec.approvedScope?.paths ?? [])],
            forbiddenPaths: this.spec.forbiddenPaths,
            approvedPaths: this.spec.approvedScope?.paths,
            maxDurationMs: this.spec.limits.runTimeoutMs,
          },
          runCommand: (command, timeoutMs) => this.exec(command, timeoutMs),
          verify: runVerifier,
          model,
          initialVerification: verification,
          commandTimeoutMs: this.spec.limits.commandTimeoutMs,
          signal: this.ctx.cancellationSignal,
          onEvent: (event, progress) => {
            this.log.emit(event);
            this.ctx.heartbeat({ phase: 'agent', toolCalls: progress.toolCalls, costUsd: progress.cost.usd });
          },
        }),
      );
      this.agent = outcome;
      this.log.commands.push(...outcome.commands);
      if (outcome.outcome === 'failed') return this.finish(outcome.failure, baseCommit, verification);
      this.enter('verifying');
      verification = await this.timed('verifyMs', runVerifier);
    }
    const stopped = this.verificationFailure();
    if (stopped) return this.finish(stopped, baseCommit, verification);
    const unreachable =
      verification.verdict === 'failed'
        ? registryFault(verification.commands.map((c) => c.output).join('\n'))
        : undefined;
    if (unreachable)
      return this.finish(
        { kind: 'infra', message: `verification could not install: ${unreachable.message}` },
        baseCommit,
        verification,
      );
    return this.finish(undefined, baseCommit, verification);
  }

  /** The run's container, on the workspace and toolchain the attempt prepared, after any earlier attempt's is gone. */
  private async startSandbox(): Promise<void> {
    const user = this.workspace!.handToSandbox(SANDBOX_USER);
    // Earlier attempts of this run (a lost lease, an engine that died under them) must not outlive it; attempt numbers
    // restart when the workflow retries after an engine fault, so every container of the run goes, whatever its number.
    await reapContainers(this.deps.docker, { runId: this.spec.runId });
    this.sandboxNetwork = await this.network();
    const trust = sandboxTrust(this.deps.caBundle ?? { source: 'none' });
    this.sandbox = await Sandbox.start(this.deps.docker, {
      image: this.deps.image,
      workspaceDir: this.workspace!.tree,
      runId: this.spec.runId,
      attempt: this.attempt,
      user,
      limits: this.spec.limits,
      network: this.sandboxNetwork,
      mounts: [...trust.mounts, ...this.toolchain!.mounts],
      env: { ...trust.env, ...this.toolchain!.env },
      expiresAt: this.startedAtMs + this.spec.limits.runTimeoutMs + CONTAINER_EXPIRY_GRACE_MS,
    });
    this.sandboxAddress = await this.sandbox.address();
  }

  /** The verify commands on the base tree, before any step touches it, or their result cached for this base. */
  private async runBaseline(baseCommit: string): Promise<void> {
    this.enter('baseline');
    this.baseline = await obtainBaseline({
      artifacts: this.deps.artifacts,
      repoUrl: this.spec.repo.url,
      commit: baseCommit,
      commands: this.verifyCommands,
      toolchain: this.toolchain?.tools,
      network: this.spec.network,
      tree: this.workspace!.tree,
      gitdir: this.workspace!.gitdir,
      exec: (command) => this.exec(command),
      onCommand: (result) => this.log.command('verifier', `baseline: ${result.command}`, result),
    });
    this.log.emit({ kind: 'verifier', name: 'baseline', allowed: true, detail: describeBaseline(this.baseline) });
  }

  /** One verifier run, with the tree's patch taken before and after it: verification may not change what is published. */
  private async runVerification(baseCommit: string): Promise<VerificationReport> {
    this.guard ??= new TreeGuard(
      this.workspace!.tree,
      this.workspace!.gitdir,
      baseCommit,
      this.spec.verify.generatedPaths ?? [],
    );
    this.verifierStopped = undefined;
    await this.guard.before();
    const report = await verify(
      { ...this.spec.verify, commands: this.verifyCommands },
      (command) => this.exec(command),
      (result) => {
        this.log.command('verifier', result.command, result);
        if (result.timedOut) this.verifierStopped = result.command;
      },
      (command) => failsAsOnBase(this.baseline, command),
    );
    for (const change of await this.guard.after()) {
      const detail = change.generated
        ? `${change.how} by verification in a generated path; left out of the patch`
        : `${change.how} by verification, which may not change what is published`;
      this.log.emit({ kind: 'verifier', name: change.path, allowed: change.generated, detail });
    }
    this.guardPatchAt = this.commandsRun;
    return withBaseline(report, this.baseline, this.verifyCommands.length, this.workspace!.tree);
  }

  /** Why the last verification cannot stand beyond its verdict: it changed the tree, or its time limit stopped a command. */
  private verificationFailure(): Failure | undefined {
    const changed = [...new Map((this.guard?.violations ?? []).map((c) => [c.path, c])).values()];
    if (changed.length > 0) {
      const files = changed.map((c) => `${c.path} (${c.how})`).join(', ');
      return {
        kind: 'verification',
        message: `verification changed files it may only read: ${files}; to let verification write generated files, name them in the policy's verifyGeneratedPaths`,
      };
    }
    if (this.verifierStopped)
      return {
        kind: 'timeout',
        message: `verification command was stopped by the per-command time limit (${this.spec.limits.commandTimeoutMs} ms): ${this.verifierStopped}`,
      };
    return undefined;
  }

  private async exec(command: string, timeoutMs?: number): Promise<CommandResult> {
    this.step = command;
    this.commandsRun += 1;
    this.beat();
    this.checkStillWanted();
    try {
      const result = await this.sandbox!.exec(command, timeoutMs);
      this.checkStillWanted();
      // A command cut off by the engine going away looks like one that failed; that is not the repository's doing.
      if (result.exitCode !== 0 && !(await engineAnswers(this.deps.docker))) {
        throw engineUnavailableFailure(
          `the Docker engine at ${engineAddress(this.deps.docker)} stopped answering while \`${command}\` ran`,
        );
      }
      return result;
    } catch (err) {
      // A sandbox removed by cancellation or the deadline makes exec fail; report why, not how.
      this.checkStillWanted();
      throw err;
    }
  }

  private async network(): Promise<SandboxNetwork> {
    if (this.spec.network === 'none') return { mode: 'none' };
    if (!this.deps.networkFor)
      throw new Error(`this execution worker cannot provide the ${this.spec.network} network profile`);
    return this.deps.networkFor(this.spec.network);
  }

  /** What the egress proxy refused this sandbox goes into the run's evidence, one event per request. */
  private recordEgressRefusals(): void {
    const network = this.sandboxNetwork;
    if (!this.sandboxAddress || network?.mode !== 'network' || !network.refusalsFrom) return;
    for (const refusal of network.refusalsFrom(this.sandboxAddress, this.startedAtMs)) {
      this.log.emit({
        kind: 'egress',
        name: `${refusal.method} ${refusal.destination}${refusal.path}`,
        allowed: false,
        detail: refusal.reason,
      });
    }
  }

  private async removeSandbox(): Promise<void> {
    const sandbox = this.sandbox;
    this.sandbox = undefined;
    await sandbox?.remove().catch(() => undefined);
  }

  /** Stops the sandbox, computes the patch (unless the run already failed), stores the evidence and builds the result. */
  private async finish(
    failure?: Failure,
    baseCommit?: string,
    verification: VerificationReport = { verdict: 'skipped', commands: [] },
  ): Promise<ExecutionResult> {
    this.phase = 'collecting evidence';
    const collecting = performance.now();
    this.beat();
    // Nothing in the tree may change while the host reads it.
    await this.removeSandbox();
    this.recordEgressRefusals();
    if (this.ctx.cancellationSignal.aborted) throw new CancelledFailure('the run was cancelled');
    // A report compared with the baseline has its JUnit counts already.
    if (verification.commands.length > 0 && this.workspace && !verification.baseline) {
      const junit = collectJUnitReports(this.workspace.tree);
      if (junit.length > 0) verification = withJUnitCounts({ ...verification, junit });
    }
    let touchedFiles: string[] = [];
    const artifacts: ArtifactRef[] = [];
    if (!failure && baseCommit && this.workspace) {
      const reusable = this.guardPatchAt === this.commandsRun ? this.guard?.lastPatch : undefined;
      const current =
        reusable ?? (await computePatch(this.workspace.tree, { gitdir: this.workspace.gitdir, base: baseCommit }));
      // What verification wrote in generated paths is not published: the patch is the tree the steps and the agent left.
      const checked = checkPatch(this.guard ? this.guard.publishable(current) : current, this.log);
      touchedFiles = checked.touchedFiles;
      failure = checked.failure;
      // Stored byte for byte: it holds no secret (checked), and a redacted patch would not apply.
      if (checked.storable)
        artifacts.push(await this.store('patch.diff', Buffer.from(checked.storable, 'utf8'), 'patch'));
    }
    artifacts.push(await this.store('steps.log', this.log.text(), 'log'));
    artifacts.push(await this.store('verification.json', JSON.stringify(verification, null, 2), 'verification'));
    artifacts.push(await this.store('events.json', JSON.stringify(this.log.events, null, 2), 'events'));
    if (this.agent)
      artifacts.push(await this.store('transcript.json', JSON.stringify(this.agent.transcript, null, 2), 'transcript'));
    const manifest = { runId: this.spec.runId, attempt: this.attempt, artifacts: [...artifacts] };
    // The manifest cannot list its own hash; the result's copy lists it beside the others.
    const manifestRef = await this.store('manifest.json', JSON.stringify(manifest, null, 2), 'manifest');
    this.durations.evidenceMs += Math.round(performance.now() - collecting);

    return {
      runId: this.spec.runId,
      attempt: this.attempt,
      specHash: this.specHash,
      outcome: failure ? 'failed' : touchedFiles.length > 0 ? 'changed' : 'no_changes',
      failure,
      touchedFiles,
      commands: [...new Set(this.log.commands)],
      baseCommit,
      verification,
      toolchain: this.toolchain?.tools,
      cost: this.agent?.cost ?? { promptTokens: 0, completionTokens: 0, usd: 0 },
      scopeRequest: this.agent?.scopeRequest,
      manifest: { ...manifest, artifacts: [...artifacts, manifestRef] },
      durations: { ...this.durations },
      worker: { identity: this.deps.identity ?? `execution@${os.hostname()}/${process.pid}`, hostname: os.hostname() },
      startedAt: this.startedAt,
      finishedAt: new Date().toISOString(),
    };
  }

  private store(name: string, body: string | Buffer, type: ArtifactRef['type']): Promise<ArtifactRef> {
    return this.deps.artifacts.put(runArtifactKey(this.spec.runId, this.attempt, name), body, type);
  }
}
