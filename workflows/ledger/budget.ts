/** A campaign's money: what is left, what a run may reserve, what it is charged. Pure. */

export interface BudgetState {
  spentUsd: number;
  /** What each admitted run may still spend, held back from the budget until it settles. */
  reservedUsd: Record<string, number>;
  /** What runs re-executing after an approved scope request were already charged for their first execution. */
  chargedUsd?: Record<string, number>;
}

export function leftUsd(limitUsd: number, state: BudgetState): number {
  return limitUsd - state.spentUsd - reservedTotal(state);
}

export function reservedTotal(state: BudgetState): number {
  return Object.values(state.reservedUsd).reduce((a, b) => a + b, 0);
}

/** A run re-executes after an approval: reserve what it may still spend, remembering what it was charged already. */
export function reserveAgain(state: BudgetState, runId: string, runBudgetUsd: number, chargedUsd: number): void {
  state.reservedUsd[runId] = Math.max(0, runBudgetUsd - chargedUsd);
  state.chargedUsd = { ...state.chargedUsd, [runId]: chargedUsd };
}

/** A run settled having cost `costUsd` in all: its reservation is released and the part not yet charged is spent. */
export function settle(state: BudgetState, runId: string, costUsd: number): void {
  if (state.reservedUsd[runId] === undefined) return;
  delete state.reservedUsd[runId];
  state.spentUsd += costUsd - (state.chargedUsd?.[runId] ?? 0);
  if (state.chargedUsd?.[runId] !== undefined) delete state.chargedUsd[runId];
}
