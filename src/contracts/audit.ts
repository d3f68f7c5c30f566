/**
 * The patch audit: what the control plane finds in a run's patch before publishing it (tests skipped, deleted or
 * weakened, test configuration narrowed, CI or lockfiles edited), what policy says of each finding, and the judge's
 * verdict on the diff against the campaign's intent.
 */
import { z } from 'zod';

export const PATCH_FINDING_KINDS = [
  'test_deleted',
  'test_moved',
  'test_skipped',
  'test_focused',
  'assertion_removed',
  'assertion_weakened',
  'test_config_narrowed',
  'ci_pipeline_changed',
  'lockfile_changed',
] as const;
export const PatchFindingKind = z.enum(PATCH_FINDING_KINDS);
export type PatchFindingKind = z.infer<typeof PatchFindingKind>;

/** What policy does with a finding: stop the run, ask a human, or let it through (still recorded). */
export const AuditEffect = z.enum(['block', 'needs_approval', 'allow'], {
  error: 'expected one of block, needs_approval, allow',
});
export type AuditEffect = z.infer<typeof AuditEffect>;

export const PatchFinding = z.strictObject({
  kind: PatchFindingKind,
  file: z.string().min(1),
  /** The line in the new file (additions) or the old file (removals, deletions). */
  line: z.number().int().nonnegative(),
  reason: z.string().min(1),
  /** Set once policy has judged the finding. */
  effect: AuditEffect.optional(),
});
export type PatchFinding = z.infer<typeof PatchFinding>;

/** The defaults a bundle need not spell out: gaming verification blocks, CI and unasked lockfile edits wait for a human. */
export const DEFAULT_AUDIT_RULES: Record<PatchFindingKind, AuditEffect> = {
  test_deleted: 'block',
  test_moved: 'block',
  test_skipped: 'block',
  test_focused: 'block',
  assertion_removed: 'block',
  assertion_weakened: 'block',
  test_config_narrowed: 'block',
  ci_pipeline_changed: 'needs_approval',
  lockfile_changed: 'needs_approval',
};

const auditRules = Object.fromEntries(
  PATCH_FINDING_KINDS.map((kind) => [kind, AuditEffect.default(DEFAULT_AUDIT_RULES[kind])]),
) as { [K in PatchFindingKind]: z.ZodDefault<typeof AuditEffect> };

/** A bundle's `patchAudit`: one effect per finding kind, and whether a model judges the diff against the intent. */
export const PatchAuditPolicy = z.strictObject({
  rules: z.strictObject(auditRules).default(DEFAULT_AUDIT_RULES),
  judge: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** What a veto (or a judge that cannot answer) does to the run. */
      onVeto: AuditEffect.default('needs_approval'),
    })
    .default({ enabled: false, onVeto: 'needs_approval' }),
});
export type PatchAuditPolicy = z.infer<typeof PatchAuditPolicy>;
export type PatchAuditPolicyInput = z.input<typeof PatchAuditPolicy>;

export const JudgeVerdict = z.strictObject({
  /** `unavailable`: no model configured, or no readable answer; policy treats it as a veto. */
  verdict: z.enum(['approve', 'veto', 'unavailable']),
  reasons: z.array(z.string()),
  model: z.string().optional(),
  effect: AuditEffect,
});
export type JudgeVerdict = z.infer<typeof JudgeVerdict>;

/** What the audit hands the workflow: the findings with their effects, the most severe effect, and the judge's say. */
export const PatchAuditResult = z.strictObject({
  verdict: AuditEffect,
  findings: z.array(PatchFinding),
  judge: JudgeVerdict.optional(),
  /** The audit's record in the artifact store, where one is configured. */
  uri: z.string().optional(),
});
export type PatchAuditResult = z.infer<typeof PatchAuditResult>;
