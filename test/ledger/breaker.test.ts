/** The breaker pauses on a streak of failures or on the same failure repeated, and tells failures apart. */
import type { RunReport } from '../../src/contracts';
import { countFailure, type BreakerState } from '../../workflows/ledger/breaker';

const failed = (repo: string, message: string): RunReport => ({
  runId: `run/${repo}`,
  repo,
  state: 'failed',
  costUsd: 0,
  failure: { kind: 'verification', message },
});
const limits = { consecutiveFailures: 5, sameSignature: 3 };

it('pauses on the third failure alike, naming the signature', () => {
  const state: BreakerState = { consecutiveFailures: 0, failureSignatures: {} };
  const reasons = ['acme/a', 'acme/b', 'acme/c'].map((repo) =>
    countFailure(
      state,
      limits,
      failed(repo, `verification failed: \`npm test\` exited 1: TypeError: ${repo} broke`),
      true,
    ),
  );
  expect(reasons).toEqual([
    undefined,
    undefined,
    'circuit breaker: 3 runs failed with the same signature "verification: verification failed: `npm test` exited #: TypeError: <repo> broke"',
  ]);
});

it('does not pause on three different failures, and pauses on a streak of five', () => {
  const state: BreakerState = { consecutiveFailures: 0, failureSignatures: {} };
  const errors = ['TypeError: a', 'ReferenceError: b', 'SyntaxError: c', 'RangeError: d', 'EvalError: e'];
  const reasons = errors.map((e, i) =>
    countFailure(state, limits, failed(`acme/s${i}`, `verification failed: \`npm test\` exited 1: ${e}`), true),
  );
  expect(reasons.slice(0, 4)).toEqual([undefined, undefined, undefined, undefined]);
  expect(reasons[4]).toMatch(/^circuit breaker: 5 consecutive failed runs \(last: acme\/s4, /);
});
