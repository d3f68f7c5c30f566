/** The policy bundle format: rules as data, validated with zod before anything evaluates them. */
import { z } from 'zod';
import { AutomergePolicy, DecisionSettings, PatchAuditPolicy, TaskType } from '../src/contracts';

export { DecisionSettings };

const Patterns = z.array(z.string().min(1)).min(1);

export const RuleMatch = z.strictObject({
  repos: Patterns.optional(),
  owners: Patterns.optional(),
  tiers: Patterns.optional(),
  languages: Patterns.optional(),
  taskTypes: z.array(TaskType).min(1).optional(),
  paths: Patterns.optional(),
});
export type RuleMatch = z.infer<typeof RuleMatch>;

export const PolicyRule = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a kebab-case rule id'),
  description: z.string().optional(),
  match: RuleMatch.default({}),
  effect: z.enum(['allow', 'deny', 'needs_approval']),
  reason: z.string().min(1),
  set: DecisionSettings.partial().default({}),
});
export type PolicyRule = z.infer<typeof PolicyRule>;

export const PolicyBundle = z.strictObject({
  name: z.string().min(1),
  version: z.string().min(1),
  description: z.string().optional(),
  defaults: DecisionSettings,
  rules: z.array(PolicyRule),
  /** One effect per patch-audit finding kind, and the judge; the defaults (DEFAULT_AUDIT_RULES) where absent. */
  patchAudit: PatchAuditPolicy.optional(),
  /** Whether campaigns that ask for automerge get it, how, and after how many approvals; absent: allowed, no approvals. */
  automerge: AutomergePolicy.optional(),
});
export type PolicyBundle = z.infer<typeof PolicyBundle>;

/** What a rule can see of a run: repository metadata and what the campaign asks for, never repository content. */
export interface PolicySubject {
  repo: string;
  owner?: string;
  tier?: string;
  language?: string;
  taskType: z.infer<typeof TaskType>;
  requestedPaths: string[];
  commands: string[];
}
