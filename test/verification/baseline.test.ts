/** The comparison of a verifier run with the baseline on the base commit, as pure code. */
import type { TestCounts, VerificationBaseline, VerificationReport } from '../../src/contracts';
import { compareWithBaseline, preExistingFailures } from '../../src/verification/baseline';

function counts(passed: number, failed: number, failedTests?: string[], skipped = 0): TestCounts {
  return {
    source: 'tap',
    tests: passed + failed + skipped,
    passed,
    failed,
    skipped,
    ...(failedTests ? { failedTests } : {}),
  };
}

function baseline(...commands: VerificationBaseline['commands']): VerificationBaseline {
  return {
    baselineVersion: 1,
    repo: 'http://git.example.test/acme/widget.git',
    commit: 'a'.repeat(40),
    planHash: 'plan',
    commands,
    durationMs: 1,
    recordedAt: new Date(0).toISOString(),
  };
}

function ran(command: string, exitCode: number, tests?: TestCounts): VerificationReport['commands'][number] {
  return { command, exitCode, durationMs: 1, output: '', outputTruncated: false, ...(tests ? { tests } : {}) };
}

const ONE_FAILING_ON_BASE = baseline(
  { command: 'npm ci', exitCode: 0 },
  { command: 'npm test', exitCode: 1, tests: counts(2, 1, ['formats dates']) },
);

describe('compareWithBaseline', () => {
  it('passes a run whose only failure the base already had, and names it as pre-existing', () => {
    const report: VerificationReport = {
      verdict: 'failed',
      commands: [ran('npm ci', 0), ran('npm test', 1, counts(2, 1, ['formats dates']))],
    };
    expect(compareWithBaseline(ONE_FAILING_ON_BASE, report, 2)).toEqual({
      verdict: 'passed',
      preExisting: ['formats dates'],
      findings: [],
      countsOnly: false,
    });
  });

  it('fails a run with a failure the base did not have, even beside a pre-existing one', () => {
    const report: VerificationReport = {
      verdict: 'failed',
      commands: [ran('npm ci', 0), ran('npm test', 1, counts(1, 2, ['formats dates', 'parses numbers']))],
    };
    expect(compareWithBaseline(ONE_FAILING_ON_BASE, report, 2).verdict).toBe('failed');
  });

  it('fails a run that executes fewer tests than the base, naming both counts', () => {
    const passing = baseline({ command: 'npm test', exitCode: 0, tests: counts(3, 0) });
    const report: VerificationReport = {
      verdict: 'passed',
      commands: [ran('npm test', 0, counts(2, 0, undefined, 1))],
    };
    expect(compareWithBaseline(passing, report, 1)).toEqual({
      verdict: 'failed',
      preExisting: [],
      findings: ['the change lowers tests executed from 3 to 2'],
      countsOnly: false,
    });
  });

  it('counts a test command that stopped printing a report as executing no tests', () => {
    const passing = baseline({ command: 'npm test', exitCode: 0, tests: counts(3, 0) });
    const report: VerificationReport = { verdict: 'passed', commands: [ran('npm test', 0)] };
    expect(compareWithBaseline(passing, report, 1).findings).toEqual(['the change lowers tests executed from 3 to 0']);
  });

  it('compares by count when the report names no tests, and says so', () => {
    const unnamed = baseline({ command: 'npm test', exitCode: 1, tests: { ...counts(4, 1), source: 'junit' } });
    const report: VerificationReport = {
      verdict: 'failed',
      commands: [ran('npm test', 1, { ...counts(4, 1), source: 'junit' })],
    };
    expect(compareWithBaseline(unnamed, report, 1)).toEqual({
      verdict: 'passed',
      preExisting: ['1 failure in `npm test` (compared by count: the test report names no tests)'],
      findings: [],
      countsOnly: true,
    });
  });

  it('does not pass a run that stopped before the end of the plan, whatever it tolerated', () => {
    const report: VerificationReport = {
      verdict: 'failed',
      commands: [ran('npm ci', 0), ran('npm test', 1, counts(2, 1, ['formats dates']))],
    };
    expect(compareWithBaseline(ONE_FAILING_ON_BASE, report, 3).verdict).toBe('failed');
  });
});

describe('preExistingFailures', () => {
  it('blames a failure of a command that passed on the base', () => {
    const base = { command: 'npm test', exitCode: 0, tests: counts(3, 0) };
    expect(preExistingFailures(base, ran('npm test', 1, counts(2, 1, ['formats dates'])))).toBeUndefined();
  });

  it('blames a failing command whose output counts no tests (a lint or audit step)', () => {
    const base = { command: 'npm run lint', exitCode: 1 };
    expect(preExistingFailures(base, ran('npm run lint', 1))).toBeUndefined();
  });
});
