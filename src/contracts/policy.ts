/** What a policy decides for one run, and the vocabulary it grants in: autonomy, network, agent tools. */
import { z } from 'zod';
import { PatchAuditPolicy } from './audit';
import { UsdAmount } from './common';

export const NETWORK_PROFILES = ['none', 'registry_only', 'full'] as const;
export const NetworkProfile = z.enum(NETWORK_PROFILES);
export type NetworkProfile = z.infer<typeof NetworkProfile>;

export const AUTONOMY_LEVELS = ['draft_only', 'supervised_pr', 'auto_pr'] as const;
export const Autonomy = z.enum(AUTONOMY_LEVELS);
export type Autonomy = z.infer<typeof Autonomy>;

export const AGENT_TOOLS = [
  'read_file',
  'write_file',
  'edit_file',
  'list_files',
  'search_text',
  'run_command',
  'run_verifier',
  'request_scope',
  'finish',
] as const;
export const AgentTool = z.enum(AGENT_TOOLS);
export type AgentTool = z.infer<typeof AgentTool>;

/** What a rule says of a run, and so what the decision it ends in says. */
export const PolicyVerdict = z.enum(['allow', 'deny', 'needs_approval']);
export type PolicyVerdict = z.infer<typeof PolicyVerdict>;

export const FiredRule = z.strictObject({
  id: z.string().min(1),
  effect: PolicyVerdict,
  reason: z.string(),
});
export type FiredRule = z.infer<typeof FiredRule>;

/** What a policy grants one run; bundles set it in `defaults` and in rules' `set`. */
export const DecisionSettings = z.strictObject({
  autonomy: Autonomy,
  sandboxProfile: z.string().min(1),
  network: NetworkProfile,
  allowedTools: z.array(AgentTool),
  allowedCommands: z.array(z.string().min(1)),
  allowedPaths: z.array(z.string().min(1)).min(1),
  forbiddenPaths: z.array(z.string().min(1)),
  maxDurationMs: z.number().int().positive(),
  maxToolCalls: z.number().int().nonnegative(),
  maxPatchFiles: z.number().int().positive(),
  maxBudgetUsd: UsdAmount,
  approvalBeforePr: z.boolean(),
  /** Globs of files the verification commands may write; any other file they change fails the run as `verification`. */
  verifyGeneratedPaths: z.array(z.string().min(1)).optional(),
});
export type DecisionSettings = z.infer<typeof DecisionSettings>;

/** A policy decision is data: what a run may do, and which rules of which bundle said so. */
export const PolicyDecision = DecisionSettings.extend({
  verdict: PolicyVerdict,
  reason: z.string(),
  /** Narrowed to what the campaign asked for; empty when nothing it asked for is allowed. */
  allowedPaths: z.array(z.string().min(1)),
  bundle: z.strictObject({ name: z.string().min(1), version: z.string().min(1), hash: z.string().min(1) }),
  firedRules: z.array(FiredRule),
  /** What the patch audit's findings do to the run; absent in decisions made before the audit existed (defaults apply). */
  patchAudit: PatchAuditPolicy.optional(),
});
export type PolicyDecision = z.infer<typeof PolicyDecision>;
