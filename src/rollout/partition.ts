/**
 * Which targets each wave of a rollout takes, as an admission order and the count at which each wave ends. Pure, and
 * free of I/O, so the campaign workflow computes it once when it starts. A wave with a selector takes the targets that
 * match first; otherwise (and to fill up) the lowest tier first, untiered targets last, in the spec's order within a tier.
 */
import type { Target } from '../contracts/common';
import type { Wave, WaveSelector, WaveSize } from '../contracts/rollout';

export interface WavePlan {
  /** The targets in the order they are admitted: each wave's targets together, the first wave's first. */
  order: Target[];
  /** How many targets are admitted by the end of each wave (cumulative); the last is the campaign's total. */
  ends: number[];
}

/** The number of targets `size` stands for in a campaign of `total`: a percentage rounds up, to at least one. */
export function resolveWaveSize(size: WaveSize, total: number): number {
  if (typeof size === 'number') return size;
  return Math.max(1, Math.ceil((total * Number(size.slice(0, -1))) / 100));
}

export function matchesSelector(target: Target, select: WaveSelector): boolean {
  if (select.owner !== undefined && target.owner !== select.owner) return false;
  if (select.tier !== undefined && target.tier !== select.tier) return false;
  if (select.repos !== undefined && !select.repos.includes(target.repo)) return false;
  return true;
}

/** Lowest tier first: numbers by value ("0" before "10"), names in natural order; untiered targets last. */
export function compareTiers(a: Target, b: Target): number {
  if (a.tier === b.tier) return 0;
  if (a.tier === undefined) return 1;
  if (b.tier === undefined) return -1;
  return a.tier.localeCompare(b.tier, 'en', { numeric: true });
}

/**
 * Plans `waves` over `targets` (the targets in hand) in a campaign of `total` targets (more where the rest are in
 * stored pages; those keep their order and fall in whichever wave their position reaches).
 */
export function planWaves(waves: readonly Wave[], targets: readonly Target[], total: number): WavePlan {
  const remaining = [...targets];
  const order: Target[] = [];
  const ends: number[] = [];
  let end = 0;
  waves.forEach((wave, i) => {
    if (i === waves.length - 1) {
      ends.push(total);
      return;
    }
    const matching = wave.select ? remaining.filter((t) => matchesSelector(t, wave.select!)) : [];
    const size = Math.min(wave.size !== undefined ? resolveWaveSize(wave.size, total) : matching.length, total - end);
    const byTier = remaining.filter((t) => !matching.includes(t)).sort(compareTiers);
    const taken = [...matching, ...byTier].slice(0, size);
    for (const target of taken) remaining.splice(remaining.indexOf(target), 1);
    order.push(...taken);
    end += size;
    ends.push(end);
  });
  order.push(...remaining);
  return { order, ends };
}
