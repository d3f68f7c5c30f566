/**
 * What policy does with the patch audit's findings: each gets its kind's effect from the bundle's `patchAudit.rules`
 * (the defaults where the bundle or an older decision has none); the most severe effect is the audit's verdict.
 */
import {
  PatchAuditPolicy,
  type AuditEffect,
  type JudgeVerdict,
  type PatchAuditPolicyInput,
  type PatchFinding,
} from '../src/contracts';
import { matchesAny } from '../src/text/glob';

const SEVERITY: Record<AuditEffect, number> = { allow: 0, needs_approval: 1, block: 2 };

export function auditPolicy(input: PatchAuditPolicyInput | undefined): PatchAuditPolicy {
  return PatchAuditPolicy.parse(input ?? {});
}

/**
 * `approvedPaths`: paths a human already approved in a scope request; a finding there that would only ask for approval
 * again is allowed (blocking findings still block).
 */
export function applyAuditPolicy(
  policy: PatchAuditPolicy,
  findings: readonly PatchFinding[],
  approvedPaths: readonly string[] = [],
  judge?: JudgeVerdict,
): { verdict: AuditEffect; findings: PatchFinding[] } {
  const judged = findings.map((finding): PatchFinding => {
    const effect = policy.rules[finding.kind];
    const approved = effect === 'needs_approval' && matchesAny(finding.file, approvedPaths);
    return { ...finding, effect: approved ? 'allow' : effect };
  });
  const verdict = [...judged.map((f) => f.effect!), ...(judge ? [judge.effect] : [])].reduce<AuditEffect>(
    (worst, effect) => (SEVERITY[effect] > SEVERITY[worst] ? effect : worst),
    'allow',
  );
  return { verdict, findings: judged };
}

/** The judge's verdict as policy reads it: an approval allows; a veto, or no answer, takes the bundle's `onVeto`. */
export function judgeEffect(policy: PatchAuditPolicy, verdict: JudgeVerdict['verdict']): AuditEffect {
  return verdict === 'approve' ? 'allow' : policy.judge.onVeto;
}
