/**
 * Adding up what the forge says of change requests: a batch at a time into a wave's figures, waves into a campaign's,
 * campaigns into a report's; and the outcomes people measure a rollout by (merge rate, time to merge, cost per merged
 * change). Pure.
 */
import type { ChangeCounts, ChangeOutcomes, WaveFigures } from '../contracts/rollout';

/** One change request as the gate reads it. */
export interface ChangeReading {
  state: 'open' | 'merged' | 'closed' | 'missing';
  checks?: string;
  createdAt?: string;
  mergedAt?: string;
  reverted: boolean;
  owner?: string;
}

export function emptyFigures(measuredAt: string): WaveFigures {
  return {
    opened: 0,
    merged: 0,
    open: 0,
    closedUnmerged: 0,
    checksFailing: 0,
    reverted: 0,
    mergeDurationsMs: [],
    measuredAt,
  };
}

export function figuresOf(readings: readonly ChangeReading[], measuredAt: string): WaveFigures {
  const byOwner: Record<string, ChangeCounts> = {};
  for (const owner of new Set(readings.flatMap((r) => (r.owner ? [r.owner] : []))))
    byOwner[owner] = countsOf(readings.filter((r) => r.owner === owner));
  return { ...countsOf(readings), ...(Object.keys(byOwner).length ? { byOwner } : {}), measuredAt };
}

function countsOf(readings: readonly ChangeReading[]): ChangeCounts {
  const found = readings.filter((r) => r.state !== 'missing');
  const merged = found.filter((r) => r.state === 'merged');
  return {
    opened: found.length,
    merged: merged.length,
    open: found.filter((r) => r.state === 'open').length,
    closedUnmerged: found.filter((r) => r.state === 'closed').length,
    checksFailing: found.filter((r) => r.state !== 'closed' && r.checks === 'failing').length,
    reverted: merged.filter((r) => r.reverted).length,
    mergeDurationsMs: merged
      .filter((r) => r.createdAt && r.mergedAt)
      .map((r) => Math.max(0, Date.parse(r.mergedAt!) - Date.parse(r.createdAt!)))
      .sort((a, b) => a - b),
  };
}

export function addCounts(a: ChangeCounts, b: ChangeCounts): ChangeCounts {
  return {
    opened: a.opened + b.opened,
    merged: a.merged + b.merged,
    open: a.open + b.open,
    closedUnmerged: a.closedUnmerged + b.closedUnmerged,
    checksFailing: a.checksFailing + b.checksFailing,
    reverted: a.reverted + b.reverted,
    mergeDurationsMs: [...a.mergeDurationsMs, ...b.mergeDurationsMs].sort((x, y) => x - y),
  };
}

export function addFigures(a: WaveFigures, b: WaveFigures): WaveFigures {
  const byOwner: Record<string, ChangeCounts> = { ...a.byOwner };
  for (const [owner, counts] of Object.entries(b.byOwner ?? {}))
    byOwner[owner] = byOwner[owner] ? addCounts(byOwner[owner], counts) : counts;
  return {
    ...addCounts(a, b),
    ...(Object.keys(byOwner).length ? { byOwner } : {}),
    measuredAt: a.measuredAt > b.measuredAt ? a.measuredAt : b.measuredAt,
  };
}

/** The value below which `q` (0 to 1) of the sorted values lie (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function outcomesOf(figures: ChangeCounts, costUsd: number): ChangeOutcomes {
  const { opened, merged, closedUnmerged, reverted, open } = figures;
  const cents = (usd: number) => Math.round(usd * 10_000) / 10_000;
  return {
    opened,
    merged,
    closedUnmerged,
    reverted,
    open,
    ...(opened > 0 ? { mergeRate: merged / opened } : {}),
    timeToMergeMs: { median: quantile(figures.mergeDurationsMs, 0.5), p95: quantile(figures.mergeDurationsMs, 0.95) },
    costUsd: cents(costUsd),
    ...(opened > 0 ? { costPerPublishedUsd: cents(costUsd / opened) } : {}),
    ...(merged > 0 ? { costPerMergedUsd: cents(costUsd / merged) } : {}),
  };
}

/** A wave's cost: model spend plus sandbox time at `pricePerHour`. */
export function waveCostUsd(wave: { spentUsd: number; sandboxMs: number }, pricePerHour: number): number {
  return wave.spentUsd + (wave.sandboxMs / 3_600_000) * pricePerHour;
}

/** Counts of several groups added up (figures without their measuring time). */
export function sumCounts(groups: readonly ChangeCounts[]): ChangeCounts {
  return groups.reduce<ChangeCounts>((sum, g) => addCounts(sum, g), emptyFigures(new Date(0).toISOString()));
}

/** Wave and campaign outcomes with sandbox time priced in (the workflow knows model spend and sandbox time, not the price). */
export function pricedOutcomes<
  R extends { waves: { figures?: WaveFigures; spentUsd: number; sandboxMs: number; outcomes?: ChangeOutcomes }[] },
>(rollout: R, pricePerHour: number): { rollout: R; outcomes: ChangeOutcomes } {
  const costOf = (w: R['waves'][number]) => waveCostUsd(w, pricePerHour);
  const waves = rollout.waves.map((w) => (w.figures ? { ...w, outcomes: outcomesOf(w.figures, costOf(w)) } : w));
  const counts = sumCounts(waves.flatMap((w) => (w.figures ? [w.figures] : [])));
  return {
    rollout: { ...rollout, waves },
    outcomes: outcomesOf(
      counts,
      rollout.waves.reduce((n, w) => n + costOf(w), 0),
    ),
  };
}
