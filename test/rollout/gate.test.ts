/** The wave gate's verdict from the forge's figures: which limits wait, which pause, and the figure each names. Pure. */
import { evaluateGate } from '../../src/rollout/gate';
import { figuresOf, outcomesOf, quantile } from '../../src/rollout/figures';

const now = Date.parse('2026-12-06T00:00:00Z');
const figures = (
  f: Partial<{ opened: number; merged: number; open: number; checksFailing: number; reverted: number }>,
) => ({
  opened: 0,
  merged: 0,
  open: 0,
  checksFailing: 0,
  reverted: 0,
  ...f,
});

it('a gate whose limits all hold lets the next wave start', () => {
  const verdict = evaluateGate(
    'canary',
    { minMerged: 2, minMergeRate: 0.5, maxChecksFailingShare: 0.25, maxReverted: 0, soakMs: 60_000 },
    figures({ opened: 3, merged: 2, open: 1 }),
    { now, lastPublishedAt: now - 61_000 },
  );
  expect(verdict).toEqual({ holds: true, breached: false, reasons: [] });
});

it('merges still to come and soak time left keep the wave waiting, naming the figures', () => {
  const verdict = evaluateGate(
    'early',
    { minMerged: 2, minMergeRate: 0.5, soakMs: 60_000 },
    figures({ opened: 3, merged: 1, open: 2 }),
    {
      now,
      lastPublishedAt: now - 30_000,
    },
  );
  expect(verdict.holds).toBe(false);
  expect(verdict.breached).toBe(false);
  expect(verdict.reasons).toEqual([
    'wave early: 1 of 3 merged, gate needs 2',
    'wave early: merge rate 33.3% (1 of 3), gate needs 50%',
    'wave early: soaking 30 s more (gate soaks 60 s)',
  ]);
});

it('failing checks, reverts and merges out of reach pause the wave', () => {
  const checks = evaluateGate(
    'early',
    { maxChecksFailingShare: 0.25 },
    figures({ opened: 4, open: 4, checksFailing: 2 }),
    { now },
  );
  expect(checks).toEqual({
    holds: false,
    breached: true,
    reasons: ['wave early: checks failing on 2 of 4 (50%), gate allows 25%'],
  });
  const reverted = evaluateGate('canary', { maxReverted: 0 }, figures({ opened: 3, merged: 3, reverted: 1 }), { now });
  expect(reverted.reasons).toEqual(['wave canary: 1 merge(s) reverted, gate allows 0']);
  expect(reverted.breached).toBe(true);
  const unreachable = evaluateGate('canary', { minMerged: 2 }, figures({ opened: 3, merged: 1, open: 0 }), { now });
  expect(unreachable).toMatchObject({ breached: true, reasons: ['wave canary: 1 of 3 merged, gate needs 2'] });
});

it('figures count the forge readings; outcomes give merge rate, time to merge and cost per change', () => {
  const at = (minutes: number) => new Date(now + minutes * 60_000).toISOString();
  const f = figuresOf(
    [
      { state: 'merged', createdAt: at(0), mergedAt: at(30), reverted: false },
      { state: 'merged', createdAt: at(0), mergedAt: at(10), reverted: true, checks: 'failing' },
      { state: 'closed', createdAt: at(0), checks: 'failing', reverted: false },
      { state: 'open', checks: 'failing', reverted: false },
      { state: 'missing', reverted: false },
    ],
    at(60),
  );
  expect(f).toMatchObject({ opened: 4, merged: 2, open: 1, closedUnmerged: 1, checksFailing: 2, reverted: 1 });
  expect(f.mergeDurationsMs).toEqual([600_000, 1_800_000]);
  expect(outcomesOf(f, 1)).toMatchObject({
    mergeRate: 0.5,
    timeToMergeMs: { median: 600_000, p95: 1_800_000 },
    costUsd: 1,
    costPerPublishedUsd: 0.25,
    costPerMergedUsd: 0.5,
  });
  expect(quantile([], 0.5)).toBeUndefined();
  expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95)).toBe(10);
});
