import { ensureApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { ContractViolationError, parseContract } from '../../src/contracts/validate';
import { NON_RETRYABLE_ERROR_TYPES } from '../../src/temporal/failure-types';

describe('failure types workflows never retry', () => {
  it('a contract violation thrown by an activity is recorded with a type workflows do not retry', () => {
    let thrown: unknown;
    try {
      parseContract(z.object({ id: z.string() }), {}, 'publish request');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ContractViolationError);
    // The conversion a worker applies to an activity's error before reporting it to the server.
    expect(NON_RETRYABLE_ERROR_TYPES).toContain(ensureApplicationFailure(thrown).type);
  });

  it('still refuses to retry the type that activity workers deployed before the rename report', () => {
    expect(NON_RETRYABLE_ERROR_TYPES).toContain('ContractViolation');
  });
});
