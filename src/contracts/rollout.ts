/**
 * A campaign's rollout: waves admitted one after another, and the gate measured on the forge between them. A wave's
 * size counts targets; the last wave takes the rest. What a gate measured, and what a merged change cost, are here too.
 */
import { z } from 'zod';
import { RepoName } from './common';

/** What the change requests of a finished wave must show before the next wave starts. Every limit is optional. */
export const WaveGate = z.strictObject({
  /** At least this many of the wave's change requests merged. */
  minMerged: z.number().int().min(0).optional(),
  /** At least this share (0 to 1) of the wave's change requests merged. */
  minMergeRate: z.number().min(0).max(1).optional(),
  /** At most this share (0 to 1) of the wave's change requests with failing checks. */
  maxChecksFailingShare: z.number().min(0).max(1).optional(),
  /** At most this many of the wave's merges reverted on the base branch. */
  maxReverted: z.number().int().min(0).optional(),
  /** At least this long (ms) since the wave's last change request was published. */
  soakMs: z.number().int().min(0).optional(),
});
export type WaveGate = z.infer<typeof WaveGate>;

/** `10%` of the campaign's targets, or a count. */
export const WaveSize = z.union([
  z.number().int().min(1),
  z.string().regex(/^(100|[1-9]?[0-9](\.[0-9]+)?)%$/, 'expected a count or a percentage such as "10%"'),
]);
export type WaveSize = z.infer<typeof WaveSize>;

/** Which targets a wave takes first: those whose fields match every one given. */
export const WaveSelector = z.strictObject({
  owner: z.string().min(1).optional(),
  tier: z.string().min(1).optional(),
  repos: z.array(RepoName).min(1).optional(),
});
export type WaveSelector = z.infer<typeof WaveSelector>;

export const Wave = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,30}$/, 'expected a short lowercase name such as "canary"'),
  /** Required on every wave but the last, which takes the rest. */
  size: WaveSize.optional(),
  /** Targets matching this are taken first; without it, the lowest tier first, in the spec's order within a tier. */
  select: WaveSelector.optional(),
  /** The gate after this wave, over the rollout's gate. */
  gate: WaveGate.optional(),
});
export type Wave = z.infer<typeof Wave>;

export const Rollout = z
  .strictObject({
    waves: z.array(Wave).min(1, 'expected at least one wave'),
    /** The gate after every wave but the last, unless a wave names its own. */
    gate: WaveGate.optional(),
    /** How often a held wave measures its gate on the forge. */
    gateCheckEveryMs: z
      .number()
      .int()
      .min(100)
      .default(15 * 60_000),
  })
  .superRefine((rollout, ctx) => {
    const last = rollout.waves.length - 1;
    rollout.waves.forEach((wave, i) => {
      if (i < last && wave.size === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['waves', i, 'size'],
          message: 'expected a size on every wave but the last',
        });
      if (rollout.waves.findIndex((w) => w.name === wave.name) !== i)
        ctx.addIssue({ code: 'custom', path: ['waves', i, 'name'], message: 'expected wave names to be unique' });
    });
  });
export type Rollout = z.infer<typeof Rollout>;
export type RolloutInput = z.input<typeof Rollout>;

/** A published change request of a wave, as the gate reads it from the forge. */
export const WaveChange = z.strictObject({
  repo: RepoName,
  /** The repository's git remote (what the forge is asked with). */
  gitUrl: z.string().min(1),
  branch: z.string().min(1),
  /** The base branch, where a revert of the merge is looked for; unknown for a change its tracker never read, not searched. */
  base: z.string().min(1).optional(),
  /** The target's owner, for outcomes by owner. */
  owner: z.string().min(1).optional(),
});
export type WaveChange = z.infer<typeof WaveChange>;

/** What the forge says of some change requests now: the counts the gate and the outcomes are made of. */
export const ChangeCounts = z.strictObject({
  /** Change requests the forge has for the wave (opened). */
  opened: z.number().int().nonnegative(),
  merged: z.number().int().nonnegative(),
  open: z.number().int().nonnegative(),
  closedUnmerged: z.number().int().nonnegative(),
  /** Open or merged with failing checks. */
  checksFailing: z.number().int().nonnegative(),
  /** Merged, then their merge commit reverted on the base branch. */
  reverted: z.number().int().nonnegative(),
  /** Time from opening to merge of each merged change request, ascending (ms). */
  mergeDurationsMs: z.array(z.number().nonnegative()),
});
export type ChangeCounts = z.infer<typeof ChangeCounts>;

/** What the forge says of a wave's change requests now, in all and by the targets' owners. */
export const WaveFigures = ChangeCounts.extend({
  byOwner: z.record(z.string(), ChangeCounts).optional(),
  measuredAt: z.iso.datetime(),
});
export type WaveFigures = z.infer<typeof WaveFigures>;

/** What a merged change costs, and how often a published one merges: per wave, per campaign, per report row. */
export const ChangeOutcomes = z.strictObject({
  opened: z.number().int().nonnegative(),
  merged: z.number().int().nonnegative(),
  closedUnmerged: z.number().int().nonnegative(),
  reverted: z.number().int().nonnegative(),
  open: z.number().int().nonnegative(),
  /** Merged of opened (0 to 1); absent with nothing opened. */
  mergeRate: z.number().min(0).max(1).optional(),
  timeToMergeMs: z.strictObject({ median: z.number().optional(), p95: z.number().optional() }),
  /** Model spend plus sandbox time at the configured price, over the runs behind these change requests. */
  costUsd: z.number().nonnegative(),
  costPerPublishedUsd: z.number().nonnegative().optional(),
  costPerMergedUsd: z.number().nonnegative().optional(),
});
export type ChangeOutcomes = z.infer<typeof ChangeOutcomes>;

/** Who moved a wave on or stopped the rollout by hand, or that the gate moved it on (`by: "gate"`). */
export const WaveDecision = z.strictObject({
  action: z.enum(['advanced', 'aborted']),
  by: z.string().min(1),
  reason: z.string().optional(),
  at: z.iso.datetime(),
});
export type WaveDecision = z.infer<typeof WaveDecision>;

export const WaveStatus = z.enum(['waiting', 'admitting', 'settling', 'gating', 'paused', 'passed', 'aborted', 'done']);
export type WaveStatus = z.infer<typeof WaveStatus>;

export const WaveProgress = z.strictObject({
  name: z.string(),
  /** Targets the wave takes. */
  size: z.number().int().nonnegative(),
  admitted: z.number().int().nonnegative(),
  status: WaveStatus,
  /** The gate's last verdict: each limit not met, with its figure. */
  gateReasons: z.array(z.string()).optional(),
  figures: WaveFigures.optional(),
  outcomes: ChangeOutcomes.optional(),
  decision: WaveDecision.optional(),
  /** The wave's published change requests (what the gate and `regatta report` read on the forge). */
  changes: z.array(WaveChange),
  /** Model spend of the wave's runs that ended. */
  spentUsd: z.number().nonnegative(),
  /** Sandbox time of the wave's runs that ended (ms). */
  sandboxMs: z.number().nonnegative(),
  /** Model spend of the wave's runs that ended, by the targets' owners. */
  spentByOwner: z.record(z.string(), z.number().nonnegative()).optional(),
});
export type WaveProgress = z.infer<typeof WaveProgress>;

export const RolloutProgress = z.strictObject({
  current: z.string(),
  status: WaveStatus,
  /** Why the rollout does not go on: the failing figure, or who aborted it. */
  reason: z.string().optional(),
  /** When a waiting gate is measured next. */
  nextGateCheck: z.iso.datetime().optional(),
  waves: z.array(WaveProgress),
});
export type RolloutProgress = z.infer<typeof RolloutProgress>;
