/**
 * The contracts both planes speak: every payload that crosses a workflow, activity or client
 * boundary is one of these schemas. Workflow code imports this module, so it stays free of I/O.
 */
import { z } from 'zod';

export const FAILURE_KINDS = ['infra', 'step', 'agent', 'verification', 'policy', 'budget', 'timeout'] as const;
export const FailureKind = z.enum(FAILURE_KINDS);
export type FailureKind = z.infer<typeof FailureKind>;

export const RUN_STATES = [
  'pending',
  'policy_denied',
  'executing',
  'no_changes',
  'failed',
  'changed',
  'needs_approval',
  'publishing',
  'published',
  'publish_failed',
  'rejected',
  'cancelled',
  'skipped',
] as const;
export const RunState = z.enum(RUN_STATES);
export type RunState = z.infer<typeof RunState>;

/** States after which a run needs nothing more from its campaign (publish_failed may still be retried). */
export const SETTLED_RUN_STATES: readonly RunState[] = [
  'policy_denied',
  'no_changes',
  'failed',
  'changed',
  'published',
  'publish_failed',
  'rejected',
  'cancelled',
  'skipped',
];

export const TASK_TYPES = ['dependency_upgrade', 'refactor', 'migration', 'codemod', 'agent_task'] as const;
export const TaskType = z.enum(TASK_TYPES);
export type TaskType = z.infer<typeof TaskType>;

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

/** Identifiers that end up in workflow ids, branch names and artifact keys. */
export const Slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'expected lowercase letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63 characters');

/** `owner/name`, as forges spell repositories. */
export const RepoName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected "owner/name"');

export const HttpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL (isomorphic-git speaks only http and https)' });

export const Target = z.strictObject({
  repo: RepoName,
  url: HttpUrl,
  ref: z.string().min(1).default('main'),
  owner: z.string().min(1).optional(),
  tier: z.string().min(1).optional(),
  language: z.string().min(1).optional(),
});
export type Target = z.infer<typeof Target>;

export const CommandStep = z.strictObject({
  recipe: z.literal('command'),
  name: z.string().min(1).optional(),
  run: z.string().min(1, 'expected a non-empty shell command'),
});

export const ReplaceStep = z.strictObject({
  recipe: z.literal('replace'),
  name: z.string().min(1).optional(),
  files: z.array(z.string().min(1)).min(1, 'expected at least one glob'),
  find: z.string().min(1),
  replace: z.string(),
  regex: z.boolean().default(false),
});

export const NpmUpgradeStep = z.strictObject({
  recipe: z.literal('npm-upgrade'),
  name: z.string().min(1).optional(),
  package: z.string().regex(/^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/, 'expected an npm package name'),
  /** An exact version, a range or a dist-tag; the newest version it admits is what the repository moves to. */
  version: z.string().regex(/^[\w.^~<>=|*+ -]+$/, 'expected a version, a range or a dist-tag such as 2.1.0, ^2.0.0 or latest'),
  /** How package.json's spec changes, as Renovate names it: absent keeps the repository's style (exact stays exact, ^ and ~ kept). */
  rangeStrategy: z.enum(['pin', 'bump', 'replace']).optional(),
});

export const Step = z.discriminatedUnion('recipe', [CommandStep, ReplaceStep, NpmUpgradeStep]);
export type Step = z.infer<typeof Step>;

export const VerificationPlan = z.strictObject({
  commands: z.array(z.string().min(1)).default([]),
});
export type VerificationPlan = z.infer<typeof VerificationPlan>;

/** What a campaign asks of every run's toolchain; the repository's own declarations fill in the rest. */
export const ToolchainRequest = z.strictObject({
  node: z
    .string()
    .trim()
    .regex(/^(lts\/(\*|-\d+|[a-z]+)|node|latest|current|stable|(?=.*\d)v?[\d.xX*^~<>=|\s-]+)$/, 'expected a Node.js version or range, e.g. "22", "22.12.0", "^22.12", ">=20", "lts/*" or "node"')
    .optional(),
});
export type ToolchainRequest = z.infer<typeof ToolchainRequest>;

/** A tool a run used: which version, and where that choice came from (`spec`, `.nvmrc`, `engines.node`, `packageManager`, `default`, …). */
export const ToolchainUse = z.strictObject({
  name: z.string().min(1),
  version: z.string().min(1),
  source: z.string().min(1),
  declared: z.string().optional(),
});
export type ToolchainUse = z.infer<typeof ToolchainUse>;

/** What an execution verifies: the campaign's commands, and (from policy only) the files those commands may generate. */
export const ExecutionVerificationPlan = VerificationPlan.extend({
  /** Globs of files verification may write (build output, snapshots); their changes are left out of the published patch. */
  generatedPaths: z.array(z.string().min(1)).optional(),
});
export type ExecutionVerificationPlan = z.infer<typeof ExecutionVerificationPlan>;

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
    .strictObject({ task: z.string().min(1).optional(), mode: z.enum(['on_failure', 'always']).default('on_failure') })
    .default({ mode: 'on_failure' }),
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
  maxBudgetUsd: z.number().nonnegative().default(50),
  /** What one run may cost at most; the campaign reserves it before admitting a run. */
  runBudgetUsd: z.number().nonnegative().default(2),
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
  approvalTimeoutMs: z.number().int().positive().default(7 * 24 * 3600_000),
  publishRetryWindowMs: z.number().int().positive().default(7 * 24 * 3600_000),
  /** The heartbeat timeout of an execution attempt: a worker silent for this long loses its lease. */
  leaseTimeoutMs: z.number().int().min(1000).default(30_000),
  /** How long a run waits (retrying with backoff) for an execution worker's unreachable Docker engine before it fails as `infra`. */
  dockerEngineWaitMs: z.number().int().min(0).default(10 * 60_000),
  /** How long a run waits for an execution worker to take it from the execution queue before it fails as `infra`. */
  executionStartTimeoutMs: z.number().int().min(1000).default(2 * 3600_000),
  /** After publishing, how often and how long the campaign's change requests are watched for the burndown. */
  tracking: z
    .strictObject({ pollMs: z.number().int().min(100), forMs: z.number().int().min(0) })
    .default({ pollMs: 5 * 60_000, forMs: 14 * 24 * 3600_000 }),
});
export type CampaignSpec = z.infer<typeof CampaignSpec>;
export type CampaignSpecInput = z.input<typeof CampaignSpec>;

/** Queue names travel with the request so a test, or a second deployment, can use its own. */
export const TaskQueues = z.strictObject({
  control: z.string().min(1),
  execution: z.string().min(1),
});
export type TaskQueues = z.infer<typeof TaskQueues>;

/** One stored page of a large campaign's targets: the artifact it is in, its digest, and how many targets it holds. */
export const TargetPageRef = z.strictObject({ uri: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/), count: z.number().int().positive() });
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

export const RunRequest = z.strictObject({
  campaignId: Slug,
  runId: z.string().min(1),
  title: z.string().min(1),
  taskType: TaskType,
  requestedBy: z.string().min(1),
  requestedAt: z.iso.datetime(),
  target: Target,
  steps: z.array(Step).min(1),
  verify: VerificationPlan,
  toolchain: ToolchainRequest.optional(),
  agent: z.strictObject({ task: z.string().min(1), mode: z.enum(['on_failure', 'always']) }),
  changeKey: Slug,
  paths: z.array(z.string().min(1)),
  preview: z.boolean(),
  approvalTimeoutMs: z.number().int().positive(),
  publishRetryWindowMs: z.number().int().positive(),
  leaseTimeoutMs: z.number().int().positive(),
  /** Absent in requests made before the engine wait existed; the run then waits the default. */
  dockerEngineWaitMs: z.number().int().min(0).optional(),
  /** What the campaign reserved for this run: the agent's cap is the smaller of this and the policy's. Absent in older requests. */
  runBudgetUsd: z.number().nonnegative().optional(),
  /** Absent in requests made before the limit existed; such a run waits for an execution worker without end. */
  executionStartTimeoutMs: z.number().int().positive().optional(),
  queues: TaskQueues,
});
export type RunRequest = z.infer<typeof RunRequest>;

export const SandboxLimits = z.strictObject({
  runTimeoutMs: z.number().int().positive(),
  commandTimeoutMs: z.number().int().positive(),
  maxOutputBytes: z.number().int().positive(),
  memoryBytes: z.number().int().positive(),
  nanoCpus: z.number().int().positive(),
  pids: z.number().int().positive(),
});
export type SandboxLimits = z.infer<typeof SandboxLimits>;

/** What one execution attempt may do. Immutable once built; its hash travels with every result. */
export const ExecutionSpec = z.strictObject({
  specVersion: z.literal(1),
  runId: z.string().min(1),
  campaignId: Slug,
  repo: z.strictObject({ name: RepoName, url: HttpUrl, ref: z.string().min(1) }),
  steps: z.array(Step).min(1),
  verify: ExecutionVerificationPlan,
  toolchain: ToolchainRequest.optional(),
  network: NetworkProfile,
  limits: SandboxLimits,
  allowedPaths: z.array(z.string().min(1)),
  forbiddenPaths: z.array(z.string().min(1)),
  maxPatchFiles: z.number().int().positive(),
  policy: z.strictObject({ version: z.string().min(1), hash: z.string().min(1) }),
  /** Scope a human approved when the agent asked for it: these paths are writable even where policy forbids them (never .git). */
  approvedScope: z.strictObject({ paths: z.array(z.string().min(1)), commands: z.array(z.string().min(1)), by: z.string().min(1) }).optional(),
  /** What the agent may do in this run, from the policy decision; absent when policy grants it no tools. */
  agent: z
    .strictObject({
      task: z.string().min(1),
      mode: z.enum(['on_failure', 'always']),
      allowedTools: z.array(AgentTool),
      allowedCommands: z.array(z.string().min(1)),
      maxToolCalls: z.number().int().positive(),
      maxBudgetUsd: z.number().nonnegative(),
    })
    .optional(),
});
export type ExecutionSpec = z.infer<typeof ExecutionSpec>;

export const StepEvent = z.strictObject({
  seq: z.number().int().nonnegative(),
  at: z.iso.datetime(),
  kind: z.enum(['workspace', 'toolchain', 'step', 'command', 'tool_call', 'verifier', 'patch', 'artifact', 'egress']),
  name: z.string(),
  allowed: z.boolean(),
  exitCode: z.number().int().optional(),
  durationMs: z.number().nonnegative().optional(),
  outputBytes: z.number().int().nonnegative().optional(),
  outputTruncated: z.boolean().optional(),
  detail: z.string().optional(),
});
export type StepEvent = z.infer<typeof StepEvent>;

export const ARTIFACT_TYPES = ['patch', 'log', 'events', 'verification', 'transcript', 'policy', 'manifest', 'targets'] as const;
export const ArtifactRef = z.strictObject({
  name: z.string().min(1),
  type: z.enum(ARTIFACT_TYPES),
  uri: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
});
export type ArtifactRef = z.infer<typeof ArtifactRef>;

export const ArtifactManifest = z.strictObject({
  runId: z.string().min(1),
  attempt: z.number().int().positive(),
  artifacts: z.array(ArtifactRef),
});
export type ArtifactManifest = z.infer<typeof ArtifactManifest>;

/** Test counts from a verifier command's TAP output, or from the JUnit XML it left in the workspace. */
export const TestCounts = z.strictObject({
  source: z.enum(['tap', 'junit']),
  tests: z.number().int().nonnegative(),
  passed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  todo: z.number().int().nonnegative().optional(),
});
export type TestCounts = z.infer<typeof TestCounts>;

export const VerificationReport = z.strictObject({
  verdict: z.enum(['passed', 'failed', 'flaky', 'skipped']),
  commands: z.array(
    z.strictObject({
      command: z.string(),
      exitCode: z.number().int(),
      durationMs: z.number().nonnegative(),
      output: z.string(),
      outputTruncated: z.boolean(),
      tests: TestCounts.optional(),
      /** The npm lifecycle script that was running when the command exited non-zero (`posttest`). */
      failedScript: z.string().optional(),
    }),
  ),
  /** One line for people: "`npm test` exited 1 in `posttest` after 171 of 171 tests passed". */
  summary: z.string().optional(),
  /** JUnit XML reports found in the workspace after verification. */
  junit: z
    .array(z.strictObject({ file: z.string(), tests: z.number().int().nonnegative(), failures: z.number().int().nonnegative(), errors: z.number().int().nonnegative(), skipped: z.number().int().nonnegative() }))
    .optional(),
});
export type VerificationReport = z.infer<typeof VerificationReport>;

export const CostReport = z.strictObject({
  model: z.string().optional(),
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  usd: z.number().nonnegative(),
});
export type CostReport = z.infer<typeof CostReport>;

export const Failure = z.strictObject({
  kind: FailureKind,
  message: z.string().min(1),
});
export type Failure = z.infer<typeof Failure>;

/** The evidence an execution attempt hands back to the control plane. */
export const ExecutionResult = z.strictObject({
  runId: z.string().min(1),
  attempt: z.number().int().positive(),
  specHash: z.string().min(1),
  outcome: z.enum(['changed', 'no_changes', 'failed']),
  failure: Failure.optional(),
  touchedFiles: z.array(z.string()),
  commands: z.array(z.string()),
  baseCommit: z.string().optional(),
  verification: VerificationReport,
  /** The Node.js and package manager the sandbox had (absent in results of workers older than toolchains). */
  toolchain: z.array(ToolchainUse).optional(),
  /** The agent asked for more scope than the spec grants; a human decides. */
  scopeRequest: z.strictObject({ paths: z.array(z.string()).optional(), commands: z.array(z.string()).optional(), reason: z.string() }).optional(),
  cost: CostReport,
  manifest: ArtifactManifest,
  worker: z.strictObject({ identity: z.string(), hostname: z.string() }),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
});
export type ExecutionResult = z.infer<typeof ExecutionResult>;

export const RunEvent = z.strictObject({
  at: z.iso.datetime(),
  from: RunState.optional(),
  to: RunState,
  note: z.string().optional(),
});
export type RunEvent = z.infer<typeof RunEvent>;

export const RunSummary = z.strictObject({
  runId: z.string(),
  repo: RepoName,
  state: RunState,
  failure: Failure.optional(),
  touchedFiles: z.array(z.string()),
  specHash: z.string().optional(),
  manifest: ArtifactManifest.optional(),
  events: z.array(RunEvent),
});
export type RunSummary = z.infer<typeof RunSummary>;

/** What a run tells its campaign whenever its state changes; small, because campaigns carry thousands. */
export const RunReport = z.strictObject({
  runId: z.string(),
  repo: RepoName,
  url: HttpUrl.optional(),
  owner: z.string().optional(),
  state: RunState,
  failure: Failure.optional(),
  costUsd: z.number().nonnegative(),
  changeRequestUrl: z.string().optional(),
});
export type RunReport = z.infer<typeof RunReport>;

export const CampaignResult = z.strictObject({
  campaignId: Slug,
  /** `per_run`: `runs` lists every run. `counts_only` (large campaigns): `runs` lists the unsettled and latest failed runs; find the rest with listRuns. */
  detail: z.enum(['per_run', 'counts_only']),
  runs: z.array(RunReport),
  counts: z.record(z.string(), z.number().int().nonnegative()),
  spentUsd: z.number().nonnegative(),
  stoppedReason: z.string().optional(),
});
export type CampaignResult = z.infer<typeof CampaignResult>;


export const FiredRule = z.strictObject({
  id: z.string().min(1),
  effect: z.enum(['allow', 'deny', 'needs_approval']),
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
  maxBudgetUsd: z.number().nonnegative(),
  approvalBeforePr: z.boolean(),
  /** Globs of files the verification commands may write; any other file they change fails the run as `verification`. */
  verifyGeneratedPaths: z.array(z.string().min(1)).optional(),
});
export type DecisionSettings = z.infer<typeof DecisionSettings>;

/** A policy decision is data: what a run may do, and which rules of which bundle said so. */
export const PolicyDecision = DecisionSettings.extend({
  verdict: z.enum(['allow', 'deny', 'needs_approval']),
  reason: z.string(),
  /** Narrowed to what the campaign asked for; empty when nothing it asked for is allowed. */
  allowedPaths: z.array(z.string().min(1)),
  bundle: z.strictObject({ name: z.string().min(1), version: z.string().min(1), hash: z.string().min(1) }),
  firedRules: z.array(FiredRule),
});
export type PolicyDecision = z.infer<typeof PolicyDecision>;

export const ChangeRequest = z.strictObject({
  provider: z.string().min(1),
  host: z.string().min(1),
  repo: RepoName,
  branch: z.string().min(1),
  number: z.number().int().positive(),
  url: z.string().min(1),
  state: z.enum(['open', 'merged', 'closed']),
  draft: z.boolean(),
  headCommit: z.string().min(1),
  /** The forge's checks on the head commit, where the forge runs any. */
  checks: z.enum(['passing', 'failing', 'pending', 'none']).optional(),
});
export type ChangeRequest = z.infer<typeof ChangeRequest>;
/** What a burndown needs of a change request: a tracker of thousands keeps this much, not the whole record. */
export type ChangeRequestSummary = Pick<ChangeRequest, 'state' | 'checks' | 'url'>;

/** Everything the publishing activity needs, by reference: the patch is read back from the artifact store. */
export const PublishRequest = z.strictObject({
  runId: z.string().min(1),
  campaignId: Slug,
  title: z.string().min(1),
  repo: z.strictObject({ name: RepoName, url: HttpUrl, ref: z.string().min(1) }),
  branch: z.string().min(1),
  autonomy: Autonomy,
  patch: ArtifactRef,
  evidence: z.strictObject({
    summary: z.string(),
    steps: z.array(z.string()),
    touchedFiles: z.array(z.string()),
    verification: VerificationReport,
    toolchain: z.array(ToolchainUse).optional(),
    cost: CostReport,
    policy: z.strictObject({ name: z.string(), version: z.string(), hash: z.string() }),
    specHash: z.string(),
    artifacts: z.array(ArtifactRef),
    approvedBy: z.string().optional(),
    runUiUrl: z.string().optional(),
  }),
  /** Reopen a change request that reviewers closed without merging; otherwise it stays closed (closed_unmerged). */
  reopenClosed: z.boolean().optional(),
});
export type PublishRequest = z.infer<typeof PublishRequest>;

export const PublishOutcome = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), changeRequest: ChangeRequest }),
  z.strictObject({
    ok: z.literal(false),
    /** invalid_patch: the patch names paths outside the tree, renames or binaries; branch_modified: a person committed to the branch. */
    reason: z.enum(['conflict', 'forge_error', 'missing_evidence', 'closed_unmerged', 'rate_limited', 'invalid_patch', 'branch_modified']),
    message: z.string(),
    /** For rate_limited: how long the forge asked us to wait. */
    retryAfterMs: z.number().int().nonnegative().optional(),
  }),
]);
export type PublishOutcome = z.infer<typeof PublishOutcome>;

/** A desired state a recurring campaign converges the fleet to, e.g. every repository on @acme/logger >= 2.1. */
export const DesiredDependency = z.strictObject({
  package: NpmUpgradeStep.shape.package,
  atLeast: z.string().regex(/^\d+(\.\d+){0,2}$/, 'expected a version such as 2, 2.1 or 2.1.0'),
});
export type DesiredDependency = z.infer<typeof DesiredDependency>;

export const SCHEDULE_OVERLAP_POLICIES = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'] as const;

export const ScheduleSpec = z
  .strictObject({
    id: Slug,
    cron: z.array(z.string().min(1)).optional(),
    every: z
      .string()
      .regex(/^\d+(ms|s|m|h|d)$/, 'expected an interval such as 30m, 6h or 7d')
      .optional(),
    overlap: z.enum(SCHEDULE_OVERLAP_POLICIES).default('skip'),
    paused: z.boolean().default(false),
    desired: DesiredDependency.optional(),
    /** The campaign each firing starts; its id is the prefix of every firing's campaign id. */
    campaign: CampaignSpec,
  })
  .refine((s) => (s.cron?.length ?? 0) > 0 || s.every !== undefined, { message: 'expected `cron` or `every`', path: ['cron'] });
export type ScheduleSpec = z.infer<typeof ScheduleSpec>;
export type ScheduleSpecInput = z.input<typeof ScheduleSpec>;

export const DependencySurvey = z.array(
  z.strictObject({ repo: RepoName, declared: z.string().optional(), installed: z.string().optional(), error: z.string().optional() }),
);
export type DependencySurvey = z.infer<typeof DependencySurvey>;

export const ScheduledFiringResult = z.strictObject({
  campaignId: Slug,
  compliant: z.array(RepoName),
  notApplicable: z.array(RepoName),
  withOpenChange: z.array(RepoName),
  unknown: z.array(RepoName),
  started: z.array(RepoName),
  result: CampaignResult.optional(),
});
export type ScheduledFiringResult = z.infer<typeof ScheduledFiringResult>;

/** A published change a campaign keeps watching until it is merged or closed. */
export const TrackedChange = z.strictObject({ repo: RepoName, url: HttpUrl, branch: z.string().min(1) });
export type TrackedChange = z.infer<typeof TrackedChange>;

export const Burndown = z.strictObject({
  campaignId: Slug,
  /** Merged, or nothing to change. */
  done: z.number().int().nonnegative(),
  open: z.number().int().nonnegative(),
  /** Open with failing checks (also counted in `open`). */
  checksFailing: z.number().int().nonnegative(),
  /** Not yet settled: executing, awaiting approval, publishing. */
  pending: z.number().int().nonnegative(),
  /** Failed runs, failed publishes, and change requests closed without merging. */
  failed: z.number().int().nonnegative(),
  changes: z.array(z.strictObject({ repo: RepoName, state: z.enum(['open', 'merged', 'closed', 'missing']), checks: z.string().optional(), url: z.string().optional() })),
  checkedAt: z.iso.datetime().optional(),
});
export type Burndown = z.infer<typeof Burndown>;
