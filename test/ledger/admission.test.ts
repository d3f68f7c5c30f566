/** Admission: each limit, in the order the campaign checks them, says why the next target waits. */
import { admissionBlocker, type AdmissionView } from '../../workflows/ledger/admission';

const open: AdmissionView = {
  cancelled: false,
  paused: false,
  inFlight: 0,
  maxConcurrentRuns: 4,
  ownerInFlight: 0,
  leftUsd: 10,
  runBudgetUsd: 2,
  openRuns: 0,
  maxOpenRuns: 1000,
};

it('admits when every limit has room', () => {
  expect(admissionBlocker(open)).toBeUndefined();
});

it.each<[Partial<AdmissionView>, string]>([
  [{ cancelled: true, paused: true }, 'cancelled'],
  [
    { paused: true, pausedReason: 'circuit breaker: 5 consecutive failed runs' },
    'paused: circuit breaker: 5 consecutive failed runs',
  ],
  [{ inFlight: 4 }, 'window full'],
  [{ owner: 'storefront', ownerInFlight: 2, maxRunsPerOwner: 2 }, 'owner storefront at its limit of 2'],
  [{ leftUsd: 1.99 }, 'budget'],
  [{ openRuns: 1000 }, '1000 runs are still open (awaiting approval or publishing): maxUnsettledRuns'],
])('waits when %o: %s', (change, reason) => {
  expect(admissionBlocker({ ...open, ...change })).toBe(reason);
});

it('counts an owner only against its own limit', () => {
  expect(admissionBlocker({ ...open, owner: 'billing', ownerInFlight: 1, maxRunsPerOwner: 2 })).toBeUndefined();
});
