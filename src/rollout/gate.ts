/**
 * Whether a wave's gate holds, from what the forge says of the wave's change requests. Pure, so the campaign workflow
 * decides with it and unit tests pin every message. A gate that can still hold by waiting (merges to come, soak time
 * left) keeps the wave waiting; one that cannot (too many failing checks or reverts, merges out of reach) pauses it.
 */
import type { WaveFigures, WaveGate } from '../contracts/rollout';

export interface GateVerdict {
  /** Every limit met: the next wave may start. */
  holds: boolean;
  /** A limit broken that waiting cannot mend: the rollout pauses until someone advances or aborts the wave. */
  breached: boolean;
  /** Each limit not met, with the figure that fails it. */
  reasons: string[];
}

export type GateFigures = Pick<WaveFigures, 'opened' | 'merged' | 'open' | 'checksFailing' | 'reverted'>;

export function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

export function evaluateGate(
  wave: string,
  gate: WaveGate,
  figures: GateFigures,
  timing: { now: number; lastPublishedAt?: number },
): GateVerdict {
  const { opened, merged, open, checksFailing, reverted } = figures;
  const breaches: string[] = [];
  const waits: string[] = [];
  const lead = `wave ${wave}:`;
  if (gate.minMerged !== undefined && merged < gate.minMerged) {
    const reason = `${lead} ${merged} of ${opened} merged, gate needs ${gate.minMerged}`;
    (merged + open < gate.minMerged ? breaches : waits).push(reason);
  }
  if (gate.minMergeRate !== undefined) {
    if (opened === 0) breaches.push(`${lead} no change requests to measure a merge rate on`);
    else if (merged / opened < gate.minMergeRate) {
      const reason = `${lead} merge rate ${percent(merged / opened)} (${merged} of ${opened}), gate needs ${percent(gate.minMergeRate)}`;
      ((merged + open) / opened < gate.minMergeRate ? breaches : waits).push(reason);
    }
  }
  if (gate.maxChecksFailingShare !== undefined && opened > 0 && checksFailing / opened > gate.maxChecksFailingShare)
    breaches.push(
      `${lead} checks failing on ${checksFailing} of ${opened} (${percent(checksFailing / opened)}), gate allows ${percent(gate.maxChecksFailingShare)}`,
    );
  if (gate.maxReverted !== undefined && reverted > gate.maxReverted)
    breaches.push(`${lead} ${reverted} merge(s) reverted, gate allows ${gate.maxReverted}`);
  if (gate.soakMs !== undefined && timing.lastPublishedAt !== undefined) {
    const until = timing.lastPublishedAt + gate.soakMs;
    if (timing.now < until)
      waits.push(
        `${lead} soaking ${Math.ceil((until - timing.now) / 1000)} s more (gate soaks ${gate.soakMs / 1000} s)`,
      );
  }
  const reasons = [...breaches, ...waits];
  return { holds: reasons.length === 0, breached: breaches.length > 0, reasons };
}
