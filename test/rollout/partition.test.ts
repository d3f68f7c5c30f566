/** Wave partition: which targets each wave of a rollout admits, and in what order. Pure. */
import type { Target } from '../../src/contracts';
import { Rollout } from '../../src/contracts';
import { parseContract } from '../../src/contracts/validate';
import { planWaves, resolveWaveSize } from '../../src/rollout/partition';

const target = (repo: string, extra: Partial<Target> = {}): Target => ({
  repo: `acme/${repo}`,
  url: `http://git.example/acme/${repo}.git`,
  ref: 'main',
  ...extra,
});

it('a percentage counts targets of the whole campaign, rounded up, at least one', () => {
  expect(resolveWaveSize('10%', 12)).toBe(2);
  expect(resolveWaveSize('25%', 12)).toBe(3);
  expect(resolveWaveSize('1%', 12)).toBe(1);
  expect(resolveWaveSize(5, 12)).toBe(5);
});

it('without a selector the lowest tier goes first, untiered last, spec order within a tier; the last wave takes the rest', () => {
  const targets = [
    target('a', { tier: '2' }),
    target('b'),
    target('c', { tier: '10' }),
    target('d', { tier: '1' }),
    target('e', { tier: '2' }),
    target('f', { tier: '1' }),
  ];
  const plan = planWaves([{ name: 'canary', size: 3 }, { name: 'early', size: '50%' }, { name: 'rest' }], targets, 6);
  expect(plan.order.map((t) => t.repo.slice(5))).toEqual(['d', 'f', 'a', 'e', 'c', 'b']);
  expect(plan.ends).toEqual([3, 6, 6]);
});

it('a selector takes matching targets first, filling up by tier, and a selector without a size takes all that match', () => {
  const targets = [
    target('a', { owner: 'web' }),
    target('b', { tier: '0' }),
    target('c', { owner: 'web' }),
    target('d'),
  ];
  const filled = planWaves([{ name: 'canary', size: 3, select: { owner: 'web' } }, { name: 'rest' }], targets, 4);
  expect(filled.order.map((t) => t.repo.slice(5))).toEqual(['a', 'c', 'b', 'd']);
  expect(filled.ends).toEqual([3, 4]);
  const all = planWaves([{ name: 'canary', select: { repos: ['acme/d', 'acme/b'] } }, { name: 'rest' }], targets, 4);
  expect(all.order.map((t) => t.repo.slice(5))).toEqual(['b', 'd', 'a', 'c']);
  expect(all.ends).toEqual([2, 4]);
});

it('waves count against the whole campaign when the rest of its targets are in stored pages', () => {
  const plan = planWaves(
    [{ name: 'canary', size: 2 }, { name: 'early', size: '10%' }, { name: 'rest' }],
    [target('a'), target('b')],
    1000,
  );
  expect(plan.ends).toEqual([2, 102, 1000]);
});

it('a rollout names the field, the value and what was expected when a wave is wrong', () => {
  const bad = () =>
    parseContract(
      Rollout,
      { waves: [{ name: 'canary' }, { name: 'early', size: '150%' }, { name: 'canary' }] },
      'campaign spec',
    );
  expect(bad).toThrow(/waves\.0\.size: got nothing; expected a size on every wave but the last/);
  expect(bad).toThrow(/waves\.1\.size: got "150%"/);
  expect(bad).toThrow(/waves\.2\.name: got "canary"; expected wave names to be unique/);
  expect(parseContract(Rollout, { waves: [{ name: 'all' }] }, 'spec').gateCheckEveryMs).toBe(15 * 60_000);
});
