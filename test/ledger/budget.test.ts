/** The campaign's money: reservations held until a run settles, charged once even when a run executes twice. */
import { leftUsd, reserveAgain, reservedTotal, settle, type BudgetState } from '../../workflows/ledger/budget';

it('holds back what admitted runs may spend, and charges what they did', () => {
  const budget: BudgetState = { spentUsd: 0, reservedUsd: { a: 2, b: 2 } };
  expect(leftUsd(5, budget)).toBe(1);
  settle(budget, 'a', 0.5);
  expect(budget).toEqual({ spentUsd: 0.5, reservedUsd: { b: 2 } });
  expect(leftUsd(5, budget)).toBe(2.5);
  settle(budget, 'a', 0.5);
  expect(budget.spentUsd).toBe(0.5);
});

it('charges a run that re-executes after an approval for both executions, once each', () => {
  const budget: BudgetState = { spentUsd: 0, reservedUsd: { a: 2 } };
  settle(budget, 'a', 0.75);
  reserveAgain(budget, 'a', 2, 0.75);
  expect(reservedTotal(budget)).toBe(1.25);
  settle(budget, 'a', 1.5);
  expect(budget).toEqual({ spentUsd: 1.5, reservedUsd: {}, chargedUsd: {} });
});
