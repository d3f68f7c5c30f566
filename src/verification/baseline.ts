/**
 * The verify plan on the base commit (the baseline) against the same plan after the change; pure, so it is tested
 * without a sandbox. The change may not lower the number of tests executed, and a failure the base already had is
 * pre-existing: reported beside the change, not blamed on it. Tests are told apart by name where the report names
 * them (TAP descriptions, JUnit test cases), by count where it does not, and the evidence says which.
 */
import type { BaselineCommand, TestCounts, VerificationBaseline, VerificationReport } from '../contracts';

type ReportedCommand = Pick<VerificationReport['commands'][number], 'command' | 'exitCode' | 'tests'>;

export interface PreExistingFailures {
  /** The failing tests by name, or one line saying how many failed when the report names none. */
  names: string[];
  countsOnly: boolean;
}

export interface BaselineComparison {
  verdict: VerificationReport['verdict'];
  preExisting: string[];
  /** What the comparison holds against the change; any makes verification fail. */
  findings: string[];
  countsOnly: boolean;
}

/** Tests that ran to a result: skipped and todo tests were not executed. */
export function testsExecuted(tests: TestCounts | undefined): number {
  return tests ? tests.passed + tests.failed : 0;
}

export function baselineTotals(baseline: VerificationBaseline): { testsRun: number; failed: number } {
  return {
    testsRun: baseline.commands.reduce((n, c) => n + testsExecuted(c.tests), 0),
    failed: baseline.commands.reduce((n, c) => n + (c.tests?.failed ?? 0), 0),
  };
}

/**
 * Whether a failed command fails only where the base failed: every failing test named on the base too, or, without
 * names on both sides, no more failures than the base had. Undefined when the failure is new (or cannot be told apart).
 */
export function preExistingFailures(
  base: BaselineCommand | undefined,
  after: ReportedCommand,
): PreExistingFailures | undefined {
  const [was, is] = [base?.tests, after.tests];
  if (!base || base.exitCode === 0 || after.exitCode === 0 || !was || !is) return undefined;
  if (was.failed === 0 || is.failed === 0 || is.failed > was.failed) return undefined;
  if (was.failedTests?.length && is.failedTests?.length) {
    const known = new Set(was.failedTests);
    return is.failedTests.every((name) => known.has(name)) ? { names: is.failedTests, countsOnly: false } : undefined;
  }
  const noun = is.failed === 1 ? 'failure' : 'failures';
  return {
    names: [`${is.failed} ${noun} in \`${after.command}\` (compared by count: the test report names no tests)`],
    countsOnly: true,
  };
}

export function baselineCommandFor(baseline: VerificationBaseline, command: string): BaselineCommand | undefined {
  return baseline.commands.find((c) => c.command === command);
}

/**
 * The verdict once the baseline is taken into account. `plannedCommands` is how many commands the plan has: a
 * report that stopped before the end cannot pass, whatever it tolerated.
 */
export function compareWithBaseline(
  baseline: VerificationBaseline,
  report: Pick<VerificationReport, 'verdict' | 'commands'>,
  plannedCommands: number,
): BaselineComparison {
  const preExisting: string[] = [];
  let countsOnly = false;
  let newFailure = false;
  for (const command of report.commands.filter((c) => c.exitCode !== 0)) {
    const known = preExistingFailures(baselineCommandFor(baseline, command.command), command);
    if (!known) newFailure = true;
    else {
      preExisting.push(...known.names);
      countsOnly ||= known.countsOnly;
    }
  }
  const findings: string[] = [];
  const lowered = loweredTestsExecuted(baseline, report.commands);
  if (lowered) findings.push(`the change lowers tests executed from ${lowered.before} to ${lowered.after}`);
  const allRan = report.commands.length >= plannedCommands;
  let verdict = report.verdict;
  if (findings.length > 0 || newFailure || (preExisting.length > 0 && !allRan)) verdict = 'failed';
  else if (verdict === 'failed' && preExisting.length > 0) verdict = 'passed';
  return { verdict, preExisting, findings, countsOnly };
}

/**
 * Tests executed by the commands that counted tests on the base, before and after; undefined when the count did not
 * drop, or when one of them did not run after the change (its failure to run already fails verification).
 */
function loweredTestsExecuted(
  baseline: VerificationBaseline,
  after: readonly ReportedCommand[],
): { before: number; after: number } | undefined {
  let [before, now] = [0, 0];
  for (const base of baseline.commands.filter((c) => c.tests)) {
    const ran = after.find((c) => c.command === base.command);
    if (!ran) return undefined;
    before += testsExecuted(base.tests);
    now += testsExecuted(ran.tests);
  }
  return now < before ? { before, after: now } : undefined;
}

/** "1 failure pre-existing on 3f2c9a1b0d4e: formats dates", for the memo, the run's details and the change request. */
export function describePreExisting(report: Pick<VerificationReport, 'baseline' | 'preExisting'>): string | undefined {
  const names = report.preExisting ?? [];
  if (!report.baseline || names.length === 0) return undefined;
  const how = report.baseline.countsOnly ? 'failures' : `${names.length} failure${names.length === 1 ? '' : 's'}`;
  return `${how} pre-existing on ${report.baseline.commit.slice(0, 12)}: ${names.join(', ')}`;
}
