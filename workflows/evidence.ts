/** The control plane's checks on what an execution attempt hands back; pure, so they replay identically. */
import type { ExecutionResult, ExecutionSpec, Failure, PolicyDecision } from '../src/contracts';
import { matchesAny } from '../policies/glob';

/** Invariant 2: execution cannot widen the scope the policy decided; `refusedCommands` come from the checkCommands activity. */
export function checkScope(spec: ExecutionSpec, decision: PolicyDecision, result: ExecutionResult, refusedCommands: readonly string[]): Failure | undefined {
  const outside = result.touchedFiles.filter((f) => !matchesAny(f, spec.allowedPaths) || matchesAny(f, spec.forbiddenPaths));
  const violations: string[] = [];
  if (outside.length > 0) violations.push(`paths outside scope: ${outside.join(', ')}`);
  if (result.touchedFiles.length > spec.maxPatchFiles) {
    violations.push(`${result.touchedFiles.length} files changed, more than the allowed ${spec.maxPatchFiles}`);
  }
  if (refusedCommands.length > 0) violations.push(`commands outside the allowlist: ${refusedCommands.join(' | ')}`);
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

/** Replay only: the line splitter that runs recorded before the shell parser (patch `command-policy-parser`) were checked with. */
export function refusedBySplitting(commands: readonly string[], allowlist: readonly string[]): string[] {
  const pattern = (p: string) => new RegExp(`^${p.trim().split('*').map((piece) => piece.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
  const allowed = (command: string) => {
    if (/\$\(|`|<\(|>\(/.test(command)) return false;
    const parts = command.split(/&&|\|\||[;|\n]/).map((part) => part.trim().replace(/\s+/g, ' ')).filter(Boolean);
    return parts.length > 0 && parts.every((part) => allowlist.some((p) => pattern(p).test(part)));
  };
  return commands.filter((c) => !allowed(c));
}
