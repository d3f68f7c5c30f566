/**
 * The verifier: the plan's commands in the sandbox; a failing command runs once more to tell flaky from failed. A
 * failure `preExisting` recognises (the base fails the same way) is neither retried nor the end of the plan.
 */
import type { VerificationPlan, VerificationReport } from '../../src/contracts';
import type { CommandResult } from '../../src/sandbox/driver';
import { testEvidence, withSummary } from './test-report';

const REPORTED_OUTPUT_CHARS = 8_000;

type ReportedCommand = VerificationReport['commands'][number];

export async function verify(
  plan: VerificationPlan,
  exec: (command: string) => Promise<CommandResult>,
  onCommand: (r: CommandResult) => void,
  preExisting: (reported: ReportedCommand) => boolean = () => false,
): Promise<VerificationReport> {
  if (plan.commands.length === 0) return { verdict: 'skipped', commands: [] };
  const commands: VerificationReport['commands'] = [];
  let verdict: VerificationReport['verdict'] = 'passed';
  for (const command of plan.commands) {
    const first = await exec(command);
    onCommand(first);
    let final = first;
    const known = first.exitCode !== 0 && !first.timedOut && preExisting(reported(command, first));
    if (first.exitCode !== 0 && !first.timedOut && !known) {
      final = await exec(command);
      onCommand(final);
      if (final.exitCode === 0) verdict = 'flaky';
    }
    commands.push(reported(command, final));
    if (final.exitCode !== 0 && !known) {
      verdict = 'failed';
      break;
    }
  }
  return withSummary({ verdict, commands });
}

function reported(command: string, result: CommandResult): ReportedCommand {
  return {
    command,
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    output: trimOutput(result.output),
    outputTruncated: result.outputTruncated || result.output.length > REPORTED_OUTPUT_CHARS,
    ...testEvidence(result),
  };
}

/** Keeps the head and the tail, where build tools print what matters. */
function trimOutput(output: string): string {
  if (output.length <= REPORTED_OUTPUT_CHARS) return output;
  const half = REPORTED_OUTPUT_CHARS / 2;
  return `${output.slice(0, half)}\n[… ${output.length - REPORTED_OUTPUT_CHARS} characters trimmed …]\n${output.slice(-half)}`;
}
