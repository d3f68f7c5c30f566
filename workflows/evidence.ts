/** The control plane's checks on what an execution attempt hands back; pure, so they replay identically. */
import type { ExecutionResult, ExecutionSpec, Failure, PolicyDecision } from '../src/contracts';
import { commandAllowed, matchesAny } from '../policies/glob';

/** Invariant 2: execution cannot widen the scope the policy decided. */
export function checkScope(spec: ExecutionSpec, decision: PolicyDecision, result: ExecutionResult): Failure | undefined {
  const outside = result.touchedFiles.filter((f) => !matchesAny(f, spec.allowedPaths) || matchesAny(f, spec.forbiddenPaths));
  const commands = result.commands.filter((c) => !commandAllowed(c, decision.allowedCommands));
  const violations: string[] = [];
  if (outside.length > 0) violations.push(`paths outside scope: ${outside.join(', ')}`);
  if (result.touchedFiles.length > spec.maxPatchFiles) {
    violations.push(`${result.touchedFiles.length} files changed, more than the allowed ${spec.maxPatchFiles}`);
  }
  if (commands.length > 0) violations.push(`commands outside the allowlist: ${commands.join(' | ')}`);
  if (violations.length > 0) return { kind: 'policy', message: `scope violation: ${violations.join('; ')}` };
  if (result.cost.usd > decision.maxBudgetUsd) {
    return { kind: 'budget', message: `run cost $${result.cost.usd.toFixed(4)}, more than its budget of $${decision.maxBudgetUsd}` };
  }
  return undefined;
}

/** Invariant 4: a change request needs a patch, touched files and a passing verifier report. */
export function missingPublishEvidence(result: ExecutionResult): string | undefined {
  if (!result.manifest.artifacts.some((a) => a.type === 'patch')) return 'no patch artifact';
  if (result.touchedFiles.length === 0) return 'no touched files';
  if (result.verification.verdict === 'skipped') return 'no verification plan ran, so nothing shows the change works';
  if (result.verification.verdict !== 'passed') return `verification ${result.verification.verdict}`;
  return undefined;
}
