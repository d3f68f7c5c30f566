/** The verifier: the plan's commands in the sandbox; a failing command runs once more to tell flaky from failed. */
import type { VerificationPlan, VerificationReport } from '../../src/contracts';
import type { CommandResult } from '../../src/sandbox/driver';
import { testEvidence, withSummary } from './test-report';

const REPORTED_OUTPUT_CHARS = 8_000;

export async function verify(
  plan: VerificationPlan,
  exec: (command: string) => Promise<CommandResult>,
  onCommand: (r: CommandResult) => void,
): Promise<VerificationReport> {
  if (plan.commands.length === 0) return { verdict: 'skipped', commands: [] };
  const commands: VerificationReport['commands'] = [];
  let verdict: VerificationReport['verdict'] = 'passed';
  for (const command of plan.commands) {
    const first = await exec(command);
    onCommand(first);
    let final = first;
    if (first.exitCode !== 0 && !first.timedOut) {
      final = await exec(command);
      onCommand(final);
      if (final.exitCode === 0) verdict = 'flaky';
    }
    commands.push({
      command,
      exitCode: final.exitCode,
      durationMs: final.durationMs,
      output: trimOutput(final.output),
      outputTruncated: final.outputTruncated || final.output.length > REPORTED_OUTPUT_CHARS,
      ...testEvidence(final),
    });
    if (final.exitCode !== 0) {
      verdict = 'failed';
      break;
    }
  }
  return withSummary({ verdict, commands });
}

/** Keeps the head and the tail, where build tools print what matters. */
function trimOutput(output: string): string {
  if (output.length <= REPORTED_OUTPUT_CHARS) return output;
  const half = REPORTED_OUTPUT_CHARS / 2;
  return `${output.slice(0, half)}\n[… ${output.length - REPORTED_OUTPUT_CHARS} characters trimmed …]\n${output.slice(-half)}`;
}
