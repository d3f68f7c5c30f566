/**
 * The wave gate's one look at the forge: each change request of a wave read (state, checks, when it opened and merged)
 * and, for a merged one, whether its merge commit was reverted on the base. A batch of up to 100 per call, resumed from
 * its last heartbeat when retried; the answer is counts, so it stays small however large the wave. A campaign without
 * waves is measured the same way, from the change requests its tracker holds.
 */
import type { ChangeRequest, WaveChange, WaveFigures } from '../../src/contracts';
import type { Forge, RepoRef } from '../../src/forges/types';
import { figuresOf, type ChangeReading } from '../../src/rollout/figures';
import { mapInResumableBatches } from '../../src/temporal/resumable-batches';
import { readingForge } from './publish';

/** Forges that can tell whether a merge was reverted; the interface grows it, and older forges answer nothing. */
type RevertFinder = {
  findRevert?(repo: RepoRef, base: string, mergeCommit: string): Promise<{ commit: string; at: string } | undefined>;
};

export function createMeasureWaveGate(forge: Forge) {
  return async function measureWaveGate(changes: WaveChange[]): Promise<WaveFigures> {
    const readings = await mapInResumableBatches(changes, (change) => readChange(forge, change));
    return figuresOf(readings, new Date().toISOString());
  };
}

async function readChange(forge: Forge & RevertFinder, change: WaveChange): Promise<ChangeReading> {
  const repo: RepoRef = { name: change.repo, url: change.gitUrl };
  const cr: ChangeRequest | undefined = await readingForge(() => forge.findChangeRequest(repo, change.branch));
  const owner = change.owner ? { owner: change.owner } : {};
  if (!cr) return { state: 'missing', reverted: false, ...owner };
  const revert =
    cr.state === 'merged' && cr.mergeCommit && change.base && forge.findRevert
      ? await readingForge(() => forge.findRevert!(repo, change.base!, cr.mergeCommit!))
      : undefined;
  const { state, checks, createdAt, mergedAt } = cr;
  return { state, checks, createdAt, mergedAt, reverted: !!revert, ...owner };
}
