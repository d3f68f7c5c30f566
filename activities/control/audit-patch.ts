/**
 * auditPatch (control plane): reads the run's patch artifact back, checks it against the hash the execution plane
 * recorded, audits it as text (no repository code runs), asks the judge where policy or the campaign wants one, applies
 * the bundle's audit rules, and keeps the result beside the run's other evidence.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { connectModel, type ModelProvider } from '../../src/agent/model-provider';
import { runArtifactKey, type ArtifactStore } from '../../src/artifacts/store';
import type {
  ArtifactRef,
  JudgeVerdict,
  PatchAuditPolicyInput,
  PatchAuditResult,
  PatchFinding,
  TaskType,
} from '../../src/contracts';
import { judgePatch } from '../../src/verification/judge';
import { auditPatch } from '../../src/verification/patch-audit';
import { applyAuditPolicy, auditPolicy, judgeEffect } from '../../policies/patch-audit';

export interface AuditPatchInput {
  runId: string;
  taskType: TaskType;
  patch: ArtifactRef;
  /** The decision's `patchAudit`; the defaults when the decision predates the audit. */
  policy?: PatchAuditPolicyInput;
  /** Paths a human approved in a scope request: findings there do not ask again. */
  approvedPaths?: string[];
  /** The campaign's stated intent, which the judge compares the diff with. */
  intent: { title: string; task: string };
  /** The campaign asks for the judge even where the bundle does not. */
  judge?: boolean;
}

export interface AuditDeps {
  artifacts(): ArtifactStore;
  /** The judge's model, read when a judge is asked for (a control plane without one answers `unavailable`). */
  judgeModel?(): ModelProvider | undefined;
}

export function createAuditPatch(deps: AuditDeps) {
  return async function auditPatchArtifact(input: AuditPatchInput): Promise<PatchAuditResult> {
    const artifacts = deps.artifacts();
    const diff = await readCheckedPatch(artifacts, input.patch);
    const policy = auditPolicy(input.policy);
    const findings = auditPatch(diff, input.taskType);
    const judge = policy.judge.enabled || input.judge ? await askJudge(deps, input, diff, findings, policy) : undefined;
    const { verdict, findings: judged } = applyAuditPolicy(policy, findings, input.approvedPaths, judge);
    const result: PatchAuditResult = { verdict, findings: judged, ...(judge ? { judge } : {}) };
    const stored = await artifacts.put(
      runArtifactKey(input.runId, 'audit', 'patch-audit.json'),
      JSON.stringify(result, null, 2),
      'policy',
    );
    return { ...result, uri: stored.uri };
  };
}

async function askJudge(
  deps: AuditDeps,
  input: AuditPatchInput,
  diff: string,
  findings: PatchFinding[],
  policy: ReturnType<typeof auditPolicy>,
): Promise<JudgeVerdict> {
  const provider = deps.judgeModel?.();
  const answer = provider
    ? await judgePatch(connectModel(provider, { maxRetries: 2 }), {
        intent: { title: input.intent.title, taskType: input.taskType, task: input.intent.task },
        diff,
        findings,
      })
    : { verdict: 'unavailable' as const, reasons: ['no model is configured on the control plane (REGATTA_MODEL)'] };
  return { ...answer, effect: judgeEffect(policy, answer.verdict) };
}

async function readCheckedPatch(artifacts: ArtifactStore, ref: ArtifactRef): Promise<string> {
  const bytes = await artifacts.get(ref.uri);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== ref.sha256)
    throw ApplicationFailure.nonRetryable(
      `patch artifact ${ref.uri} has sha256 ${sha256}, the manifest says ${ref.sha256}; the audit cannot vouch for it`,
      'PatchAuditError',
    );
  return bytes.toString('utf8');
}
