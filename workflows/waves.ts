/**
 * A campaign's rollout in waves: which targets each wave admits, the gate measured on the forge once a wave's runs have
 * settled, and the hold between waves. The hold is durable and cheap: one timer and one activity per gate check, and
 * its state crosses continue-as-new with the ledger. The gate's rules are pure (src/rollout/gate.ts).
 */
import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type {
  CampaignSpec,
  ChangeOutcomes,
  RolloutProgress,
  RunReport,
  Target,
  WaveChange,
  WaveDecision,
  WaveFigures,
  WaveProgress,
  WaveStatus,
} from '../src/contracts';
import { SETTLED_RUN_STATES } from '../src/contracts/run-states';
import { addFigures, emptyFigures, outcomesOf } from '../src/rollout/figures';
import { evaluateGate } from '../src/rollout/gate';
import { planWaves } from '../src/rollout/partition';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/temporal/failure-types';
import { changeBranch } from '../src/temporal/ids';
import type { WaveGateActivities } from './activity-types';
import { abortWaveUpdate, advanceWaveUpdate, type CampaignProgress, type WaveDecisionRequest } from './definitions';

/** Change requests per gate activity: each answer stays small, and a failed batch is all that is read again. */
const GATE_BATCH = 100;

interface WaveRecord {
  changes: WaveChange[];
  lastPublishedAt?: number;
  spentUsd: number;
  sandboxMs: number;
  spentByOwner?: Record<string, number>;
  figures?: WaveFigures;
  gateReasons?: string[];
  decision?: WaveDecision;
}

/** The rollout's state, carried across continue-as-new. */
export interface WaveState {
  /** How many targets are admitted by the end of each wave (cumulative). */
  ends: number[];
  current: number;
  /** The gate broke a limit waiting cannot mend; the failing figures. */
  pausedReason?: string;
  aborted?: WaveDecision;
  /** When the gate is next measured (epoch ms), while a wave waits on it. */
  nextCheckAt?: number;
  waves: WaveRecord[];
  /** Admitted runs not yet ended: their wave, remote and base, for the change request they may publish. */
  members: Record<string, { wave: number; gitUrl: string; base: string; owner?: string }>;
}

export class WaveRollout {
  private constructor(
    private readonly spec: CampaignSpec & { rollout: NonNullable<CampaignSpec['rollout']> },
    readonly state: WaveState,
  ) {}

  /** A new rollout: the spec's targets in hand reordered so each wave's come together, the first wave's first. */
  static start(spec: CampaignSpec, total: number): { rollout: WaveRollout; spec: CampaignSpec } | undefined {
    if (!spec.rollout) return undefined;
    const plan = planWaves(spec.rollout.waves, spec.targets, total);
    const ordered = { ...spec, rollout: spec.rollout, targets: plan.order };
    const waves = plan.ends.map(() => ({ changes: [], spentUsd: 0, sandboxMs: 0 }));
    return { rollout: new WaveRollout(ordered, { ends: plan.ends, current: 0, waves, members: {} }), spec: ordered };
  }

  /** The rollout carried across continue-as-new. */
  static resume(spec: CampaignSpec, state: WaveState): WaveRollout | undefined {
    return spec.rollout ? new WaveRollout({ ...spec, rollout: spec.rollout }, state) : undefined;
  }

  private get last(): number {
    return this.state.ends.length - 1;
  }

  private name(wave = this.state.current): string {
    return this.spec.rollout.waves[wave].name;
  }

  /** Why the target after `admitted` others cannot start yet, or undefined when its wave is open. */
  admissionBlocker(admitted: number): string | undefined {
    const s = this.state;
    if (s.aborted) return `rollout aborted by ${s.aborted.by}`;
    if (s.current < this.last && admitted >= s.ends[s.current]) {
      return s.pausedReason
        ? `paused: ${s.pausedReason}`
        : `wave ${this.name()} is complete; its gate decides the next`;
    }
    return undefined;
  }

  admitted(target: Target): void {
    this.state.members[target.repo] = {
      wave: this.state.current,
      gitUrl: target.url,
      base: target.ref,
      ...(target.owner ? { owner: target.owner } : {}),
    };
  }

  /** A run's report: a published change joins its wave's; an ended run's cost is counted to its wave. */
  record(report: RunReport, now: number): void {
    const member = this.state.members[report.repo];
    if (!member) return;
    const wave = this.state.waves[member.wave];
    if (report.state === 'published') {
      wave.changes.push({
        repo: report.repo,
        gitUrl: member.gitUrl,
        branch: changeBranch(this.spec.changeKey ?? this.spec.id),
        base: member.base,
        ...(member.owner ? { owner: member.owner } : {}),
      });
      wave.lastPublishedAt = now;
    }
    if (SETTLED_RUN_STATES.includes(report.state) && report.state !== 'publish_failed') {
      wave.spentUsd += report.costUsd;
      wave.sandboxMs += report.sandboxMs ?? 0;
      if (member.owner)
        wave.spentByOwner = {
          ...wave.spentByOwner,
          [member.owner]: (wave.spentByOwner?.[member.owner] ?? 0) + report.costUsd,
        };
      delete this.state.members[report.repo];
    }
  }

  /** The current wave is admitted whole and its runs have settled: the gate decides. */
  atGate(admitted: number, unsettled: number): boolean {
    const s = this.state;
    return !s.aborted && s.current < this.last && admitted >= s.ends[s.current] && unsettled === 0;
  }

  /** Refuses a decision that has nothing to act on. */
  assertCanDecide(action: WaveDecision['action']): void {
    if (this.state.aborted) throw new Error(`the rollout was aborted by ${this.state.aborted.by}`);
    if (action === 'advanced' && this.state.current >= this.last)
      throw new Error(`wave ${this.name()} is the last wave; there is no next wave to advance to`);
  }

  advance(request: WaveDecisionRequest, now: number): void {
    const record = this.state.waves[this.state.current];
    record.decision = { action: 'advanced', by: request.by, reason: request.reason, at: new Date(now).toISOString() };
    this.state.current++;
    this.state.pausedReason = undefined;
    this.state.nextCheckAt = undefined;
  }

  /** Stops the rollout after the current wave; returns the reason the targets not admitted are skipped with. */
  abort(request: WaveDecisionRequest, now: number): string {
    const decision = {
      action: 'aborted' as const,
      by: request.by,
      reason: request.reason,
      at: new Date(now).toISOString(),
    };
    this.state.waves[this.state.current].decision = decision;
    this.state.aborted = decision;
    this.state.nextCheckAt = undefined;
    return `rollout aborted at wave ${this.name()} by ${request.by}${request.reason ? `: ${request.reason}` : ''}`;
  }

  /** `resumeCampaign` measures a paused gate again. */
  resume(): void {
    this.state.pausedReason = undefined;
  }

  /** One gate check of the current wave: measured on the forge, then advanced, paused or left waiting. */
  async checkGate(activities: WaveGateActivities, now: () => number): Promise<'advanced' | 'paused' | 'waiting'> {
    const wave = this.state.current;
    const figures = await this.measure(activities, wave);
    if (this.state.current !== wave || this.state.aborted) return 'advanced';
    const record = this.state.waves[wave];
    const gate = this.spec.rollout.waves[wave].gate ?? this.spec.rollout.gate ?? {};
    const verdict = evaluateGate(this.name(wave), gate, figures, {
      now: now(),
      lastPublishedAt: record.lastPublishedAt,
    });
    record.figures = figures;
    record.gateReasons = verdict.reasons;
    if (verdict.holds) {
      this.advance({ by: 'gate', reason: 'every limit of the gate held' }, now());
      return 'advanced';
    }
    if (verdict.breached) {
      this.state.pausedReason = verdict.reasons.join('; ');
      return 'paused';
    }
    this.state.nextCheckAt = now() + this.spec.rollout.gateCheckEveryMs;
    return 'waiting';
  }

  /** Every wave's change requests measured once more, for the campaign's outcomes when it ends. */
  async measureAll(activities: WaveGateActivities): Promise<void> {
    for (let wave = 0; wave <= Math.min(this.state.current, this.last); wave++)
      this.state.waves[wave].figures = await this.measure(activities, wave);
  }

  private async measure(activities: WaveGateActivities, wave: number): Promise<WaveFigures> {
    return measureInBatches(activities, this.state.waves[wave].changes);
  }

  progress(admitted: number, unsettled: number): RolloutProgress {
    const s = this.state;
    const waves = s.ends.map((end, i): WaveProgress => {
      const start = i === 0 ? 0 : s.ends[i - 1];
      const record = s.waves[i];
      return {
        name: this.name(i),
        size: end - start,
        admitted: Math.max(0, Math.min(admitted, end) - start),
        status: this.status(i, admitted, unsettled),
        ...(record.gateReasons ? { gateReasons: record.gateReasons } : {}),
        ...(record.figures ? { figures: record.figures, outcomes: outcomesOf(record.figures, record.spentUsd) } : {}),
        ...(record.decision ? { decision: record.decision } : {}),
        changes: record.changes,
        spentUsd: record.spentUsd,
        sandboxMs: record.sandboxMs,
        ...(record.spentByOwner ? { spentByOwner: record.spentByOwner } : {}),
      };
    });
    const current = waves[Math.min(s.current, this.last)];
    const reason = s.aborted
      ? `rollout aborted by ${s.aborted.by}${s.aborted.reason ? `: ${s.aborted.reason}` : ''}`
      : (s.pausedReason ?? (current.status === 'gating' ? current.gateReasons?.join('; ') : undefined));
    return {
      current: current.name,
      status: current.status,
      ...(reason ? { reason } : {}),
      ...(s.nextCheckAt !== undefined && current.status === 'gating'
        ? { nextGateCheck: new Date(s.nextCheckAt).toISOString() }
        : {}),
      waves,
    };
  }

  /** The campaign's change outcomes: every measured wave's figures and every wave's spend, added up. */
  outcomes(): ChangeOutcomes {
    const measured = this.state.waves.filter((w) => w.figures);
    const figures = measured.reduce((sum, w) => addFigures(sum, w.figures!), emptyFigures(new Date(0).toISOString()));
    return outcomesOf(
      figures,
      this.state.waves.reduce((n, w) => n + w.spentUsd, 0),
    );
  }

  private status(wave: number, admitted: number, unsettled: number): WaveStatus {
    const s = this.state;
    if (wave < s.current) return 'passed';
    if (wave > s.current) return s.aborted ? 'aborted' : 'waiting';
    if (s.aborted) return 'aborted';
    if (s.pausedReason) return 'paused';
    if (admitted < s.ends[wave]) return 'admitting';
    if (unsettled > 0) return 'settling';
    return wave === this.last ? 'done' : 'gating';
  }
}

async function measureInBatches(activities: WaveGateActivities, changes: readonly WaveChange[]): Promise<WaveFigures> {
  let figures = emptyFigures(new Date().toISOString());
  for (let i = 0; i < changes.length; i += GATE_BATCH)
    figures = addFigures(figures, await activities.measureWaveGate(changes.slice(i, i + GATE_BATCH)));
  return figures;
}

/** What the forge says now of `changes`, a batch of 100 per activity on the control queue. */
export function measureChanges(queues: { control: string }, changes: readonly WaveChange[]): Promise<WaveFigures> {
  return measureInBatches(gateActivities(queues), changes);
}

function gateActivities(queues: { control: string }): WaveGateActivities {
  return proxyActivities<WaveGateActivities>({
    taskQueue: queues.control,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '1 minute',
    retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
  });
}

/** Holds between waves until the campaign is done: waits for a wave to settle, then checks its gate on a timer. */
export async function holdAtGates(
  rollout: WaveRollout,
  view: { admitted(): number; unsettled(): number; done(): boolean },
  queues: { control: string },
  onChange: () => void,
): Promise<void> {
  const activities = gateActivities(queues);
  const state = rollout.state;
  for (;;) {
    await condition(() => view.done() || (!state.pausedReason && rollout.atGate(view.admitted(), view.unsettled())));
    if (view.done()) return;
    const wave = state.current;
    // A check already scheduled (before a continue-as-new, or by the last check) waits for its time on a timer.
    if (state.nextCheckAt !== undefined && state.nextCheckAt > Date.now()) {
      await condition(
        () => view.done() || state.current !== wave || !!state.aborted || !!state.pausedReason,
        state.nextCheckAt - Date.now(),
      );
      continue;
    }
    await rollout.checkGate(activities, () => Date.now());
    onChange();
  }
}

/** The rollout of a new campaign (its targets reordered by wave), or the one carried across continue-as-new. */
export function startRollout(input: { spec: CampaignSpec; targetPages?: { total: number }; waves?: WaveState }): {
  rollout: WaveRollout;
  spec: CampaignSpec;
} {
  if (input.waves) return { rollout: WaveRollout.resume(input.spec, input.waves)!, spec: input.spec };
  return WaveRollout.start(input.spec, input.targetPages?.total ?? input.spec.targets.length)!;
}

/** The campaign's progress with its rollout: a wave paused at its gate pauses the campaign, naming the figure. */
export function withRollout(
  ledger: { unsettledCount(): number },
  waves: WaveRollout | undefined,
  p: CampaignProgress,
): CampaignProgress {
  if (!waves) return p;
  const rollout = waves.progress(p.admitted, ledger.unsettledCount());
  const paused = rollout.status === 'paused' && !p.paused;
  return {
    ...p,
    rollout,
    outcomes: waves.outcomes(),
    ...(paused ? { paused: true, pausedReason: rollout.reason } : {}),
  };
}

/** The Web UI's line for the rollout: each wave's admitted share and status, the merges so far, what the gate waits on. */
export function describeRollout(p: CampaignProgress): string {
  const r = p.rollout!;
  const waves = r.waves.map((w) => `${w.name} ${w.admitted}/${w.size} ${w.status}`).join(' · ');
  const o = p.outcomes;
  const merged = o ? ` — merged ${o.merged} of ${o.opened} opened` : '';
  return `waves: ${waves}${merged}` + (r.reason && r.status !== 'paused' ? `\n${r.reason}` : '');
}

/** Every wave measured once more as the campaign ends: its result carries the rollout and the outcomes. */
export async function campaignOutcomes(
  rollout: WaveRollout,
  queues: { control: string },
  admitted: number,
  unsettled: number,
): Promise<{ rollout: RolloutProgress; outcomes: ChangeOutcomes }> {
  await rollout.measureAll(gateActivities(queues));
  return { rollout: rollout.progress(admitted, unsettled), outcomes: rollout.outcomes() };
}

/** `advanceWave` and `abortWave`: a person moves the rollout on, or stops it, whatever the gate says; recorded with who and why. */
export function handleWaveDecisions(
  waves: WaveRollout,
  ledger: { progress(): { admitted: number }; unsettledCount(): number; skipRemaining(reason: string): void },
  onChange: () => void,
): void {
  const answer = () => waves.progress(ledger.progress().admitted, ledger.unsettledCount());
  setHandler(
    advanceWaveUpdate,
    (request: WaveDecisionRequest) => {
      waves.advance(request, Date.now());
      onChange();
      return answer();
    },
    { validator: (request: WaveDecisionRequest) => assertDecision(waves, 'advanced', request) },
  );
  setHandler(
    abortWaveUpdate,
    (request: WaveDecisionRequest) => {
      ledger.skipRemaining(waves.abort(request, Date.now()));
      onChange();
      return answer();
    },
    { validator: (request: WaveDecisionRequest) => assertDecision(waves, 'aborted', request) },
  );
}

function assertDecision(waves: WaveRollout, action: WaveDecision['action'], request: WaveDecisionRequest): void {
  if (typeof request?.by !== 'string' || request.by.length === 0)
    throw new Error(`by: got ${JSON.stringify(request?.by)}; expected who decides, a non-empty string`);
  waves.assertCanDecide(action);
}
