/** The publish gate: a rate per window, and a hold when the forge asks to wait. */
import { inWindow, publishWait } from '../../workflows/ledger/publish-gate';

const rate = { max: 2, windowMs: 60_000 };

it('lets a publish go while the window has room', () => {
  expect(publishWait([], rate, 1_000)).toBe(0);
  expect(publishWait([500], rate, 1_000)).toBe(0);
});

it('waits for the oldest grant to leave a full window', () => {
  expect(publishWait([1_000, 2_000], rate, 10_000)).toBe(51_000);
  expect(publishWait([1_000, 2_000], rate, 61_000)).toBe(0);
});

it('waits out a hold the forge asked for, whatever the window', () => {
  expect(publishWait([], rate, 1_000, 31_000)).toBe(30_000);
});

it('keeps only the grants still inside the window', () => {
  expect(inWindow([{ at: 0 }, { at: 30_000 }], (g) => g.at, 60_000, 70_000)).toEqual([{ at: 30_000 }]);
});
