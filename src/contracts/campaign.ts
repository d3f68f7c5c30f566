/** A campaign: the spec a user writes, the input its workflow starts with (large target lists by reference), its result. */
import { z } from 'zod';
import { Sha256Digest, Slug, Target, TaskQueues, TaskType, UsdAmount } from './common';
import { AgentMode, Step, ToolchainRequest, VerificationPlan } from './execution';
import { RunReport } from './run';
import { RebaseWhen } from './publishing';
import { ChangeOutcomes, Rollout, RolloutProgress } from './rollout';

export const CampaignSpec = z.strictObject({
  id: Slug,
  title: z.string().min(1),
  taskType: TaskType.default('codemod'),
  requestedBy: z.string().min(1).default('unknown'),
  targets: z.array(Target).min(1, 'expected at least one target'),
  steps: z.array(Step).min(1, 'expected at least one step'),
  verify: VerificationPlan.default({ commands: [] }),
  /** The Node.js every run uses, over what each repository declares (`.nvmrc`, `engines.node`, …). */
  toolchain: ToolchainRequest.optional(),
  /** The identity of the change across campaigns (branch `regatta/<changeKey>`); the campaign id when absent. */
  changeKey: Slug.optional(),
  /** The agent's task, for what the steps leave broken (`on_failure`, the default) or as the main work (`always`). */
  agent: z
    .strictObject({ task: z.string().min(1).optional(), mode: AgentMode.default('on_failure') })
    .default({ mode: 'on_failure' }),
  /** Ask a model to judge every patch against this campaign's title and task before publishing (the patch audit's judge). */
  judge: z.boolean().optional(),
  /** Paths the campaign asks to change; policy narrows them. Empty means "wherever policy allows". */
  paths: z.array(z.string().min(1)).default([]),
  preview: z.boolean().default(false),
  maxConcurrentRuns: z.number().int().min(1).max(500).default(4),
  maxRunsPerOwner: z.number().int().min(1).optional(),
  /**
   * Runs admitted and not yet final (executing, awaiting approval, publishing, failed to publish) at most; each is an
   * open child workflow, and Temporal refuses more than 2,000 of those per campaign execution.
   */
  maxUnsettledRuns: z.number().int().min(1).max(1500).default(1000),
  maxBudgetUsd: UsdAmount.default(50),
  /** What one run may cost at most; the campaign reserves it before admitting a run. */
  runBudgetUsd: UsdAmount.default(2),
  circuitBreaker: z
    .strictObject({
      consecutiveFailures: z.number().int().min(1).default(5),
      sameSignature: z.number().int().min(1).default(3),
    })
    .default({ consecutiveFailures: 5, sameSignature: 3 }),
  /** At most `max` change requests per forge host in any `windowMs`, campaign-wide. */
  publishRate: z
    .strictObject({ max: z.number().int().min(1), windowMs: z.number().int().min(1000) })
    .default({ max: 30, windowMs: 3600_000 }),
  approvalTimeoutMs: z
    .number()
    .int()
    .positive()
    .default(7 * 24 * 3600_000),
  publishRetryWindowMs: z
    .number()
    .int()
    .positive()
    .default(7 * 24 * 3600_000),
  /** The heartbeat timeout of an execution attempt: a worker silent for this long loses its lease. */
  leaseTimeoutMs: z.number().int().min(1000).default(30_000),
  /** How long a run waits (retrying with backoff) for an execution worker's unreachable Docker engine before it fails as `infra`. */
  dockerEngineWaitMs: z
    .number()
    .int()
    .min(0)
    .default(10 * 60_000),
  /** How long a run waits for an execution worker to take it from the execution queue before it fails as `infra`. */
  executionStartTimeoutMs: z
    .number()
    .int()
    .min(1000)
    .default(2 * 3600_000),
  /** After publishing, how often and how long the campaign's change requests are watched for the burndown. */
  tracking: z
    .strictObject({ pollMs: z.number().int().min(100), forMs: z.number().int().min(0) })
    .default({ pollMs: 5 * 60_000, forMs: 14 * 24 * 3600_000 }),
  /**
   * When the tracker brings an open change request onto its moved base (Renovate's `rebaseWhen`): `conflicted`, once
   * the patch no longer applies to it; `behind-base`, whenever the base moves; `never`.
   */
  rebaseWhen: RebaseWhen.default('conflicted'),
  /** At most `max` rebases and re-executions per forge host in any `windowMs` (rebase storms flood CI). */
  rebaseRate: z
    .strictObject({ max: z.number().int().min(1), windowMs: z.number().int().min(1000) })
    .default({ max: 20, windowMs: 3600_000 }),
  /** Merge each change request through the forge once its checks pass and policy's approvals are in; policy may deny. */
  automerge: z.boolean().default(false),
  /** Change keys this campaign replaces: their open change requests are closed with a comment linking this one's. */
  supersedes: z.array(Slug).default([]),
  /** How long a merged change is watched for a commit reverting its merge commit. */
  revertWatchMs: z
    .number()
    .int()
    .min(0)
    .default(7 * 24 * 3600_000),
  /** Waves admitted one after another, with a gate measured on the forge between them; all targets at once when absent. */
  rollout: Rollout.optional(),
});
export type CampaignSpec = z.infer<typeof CampaignSpec>;
export type CampaignSpecInput = z.input<typeof CampaignSpec>;

/** One stored page of a large campaign's targets: the artifact it is in, its digest, and how many targets it holds. */
export const TargetPageRef = z.strictObject({
  uri: z.string().min(1),
  sha256: Sha256Digest,
  count: z.number().int().positive(),
});
export type TargetPageRef = z.infer<typeof TargetPageRef>;

export const CampaignInput = z.strictObject({
  /** For a large campaign, `spec.targets` holds the first page; the rest are in `targetPages`. */
  spec: CampaignSpec,
  queues: TaskQueues,
  requestedAt: z.iso.datetime(),
  /** The targets after the first page, stored by reference so the workflow's input stays small. */
  targetPages: z.strictObject({ total: z.number().int().positive(), refs: z.array(TargetPageRef) }).optional(),
});
export type CampaignInput = z.infer<typeof CampaignInput>;

export const CampaignResult = z.strictObject({
  campaignId: Slug,
  /** `per_run`: `runs` lists every run. `counts_only` (large campaigns): `runs` lists the unsettled and latest failed runs; find the rest with listRuns. */
  detail: z.enum(['per_run', 'counts_only']),
  runs: z.array(RunReport),
  counts: z.record(z.string(), z.number().int().nonnegative()),
  spentUsd: UsdAmount,
  stoppedReason: z.string().optional(),
  /** A campaign with a rollout: its waves, each gate's figures and who decided what. */
  rollout: RolloutProgress.optional(),
  /** A campaign with a rollout: its change requests' outcomes as the forge said when it ended. */
  outcomes: ChangeOutcomes.optional(),
});
export type CampaignResult = z.infer<typeof CampaignResult>;
