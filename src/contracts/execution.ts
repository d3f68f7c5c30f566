/**
 * What a run executes (recipe steps, verification, toolchain, the agent's mode), the immutable ExecutionSpec one attempt
 * runs under, and the evidence it hands back: events, artifacts, verification and cost.
 */
import { z } from 'zod';
import { Failure, RepoCheckout, Sha256Digest, Slug, UsdAmount } from './common';
import { AgentTool, NetworkProfile } from './policy';

/** Package ecosystems (src/ecosystems), as steps, verification and desired states name them. */
export const EcosystemName = z.enum(['npm', 'go', 'maven', 'python']);

/**
 * When a step applies to a repository (Batch Changes' `if:`): `ecosystem` names the ecosystems it is for, and the
 * execution plane checks the repository's root for their manifest files (package.json, go.mod, pom.xml,
 * pyproject.toml or requirements.txt). A step that does not apply is skipped with a `not applicable` step event.
 */
export const StepCondition = z.strictObject({
  ecosystem: z.array(EcosystemName).min(1, 'expected at least one ecosystem, e.g. [go]'),
});
export type StepCondition = z.infer<typeof StepCondition>;

export const CommandStep = z.strictObject({
  recipe: z.literal('command'),
  name: z.string().min(1).optional(),
  when: StepCondition.optional(),
  run: z.string().min(1, 'expected a non-empty shell command'),
});

export const ReplaceStep = z.strictObject({
  recipe: z.literal('replace'),
  name: z.string().min(1).optional(),
  when: StepCondition.optional(),
  files: z.array(z.string().min(1)).min(1, 'expected at least one glob'),
  find: z.string().min(1),
  replace: z.string(),
  regex: z.boolean().default(false),
});

export const NpmUpgradeStep = z.strictObject({
  recipe: z.literal('npm-upgrade'),
  name: z.string().min(1).optional(),
  when: StepCondition.optional(),
  package: z.string().regex(/^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/, 'expected an npm package name'),
  /** An exact version, a range or a dist-tag; the newest version it admits is what the repository moves to. */
  version: z
    .string()
    .regex(/^[\w.^~<>=|*+ -]+$/, 'expected a version, a range or a dist-tag such as 2.1.0, ^2.0.0 or latest'),
  /** How package.json's spec changes, as Renovate names it: absent keeps the repository's style (exact stays exact, ^ and ~ kept). */
  rangeStrategy: z.enum(['pin', 'bump', 'replace']).optional(),
});

export const GoModulePath = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]*\.[a-z]+(\/[A-Za-z0-9._~-]+)+$/,
    'expected a Go module path such as github.com/google/uuid',
  );

export const GoUpgradeStep = z.strictObject({
  recipe: z.literal('go-upgrade'),
  name: z.string().min(1).optional(),
  when: StepCondition.optional(),
  module: GoModulePath,
  /** What `go get module@version` takes: a semantic version, or `latest` / `patch` for go to resolve. */
  version: z
    .string()
    .regex(
      /^(v\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?|latest|patch)$/,
      'expected a version such as v1.6.0, latest or patch',
    ),
});

/** A Maven dependency as `groupId:artifactId`. */
export const MavenCoordinate = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+$/, 'expected groupId:artifactId such as org.apache.commons:commons-lang3');

export const MavenUpgradeStep = z.strictObject({
  recipe: z.literal('maven-upgrade'),
  name: z.string().min(1).optional(),
  when: StepCondition.optional(),
  dependency: MavenCoordinate,
  /** Written into pom.xml as it is: a Maven version such as 3.14.0 or 2.17.1-jre. */
  version: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.+_-]*$/, 'expected a Maven version such as 3.14.0'),
});

export const PythonPackageName = z
  .string()
  .regex(/^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/, 'expected a Python package name such as semver');

export const PythonUpgradeStep = z.strictObject({
  recipe: z.literal('python-upgrade'),
  name: z.string().min(1).optional(),
  when: StepCondition.optional(),
  package: PythonPackageName,
  /** The release the requirements move to; each specifier keeps its style (== pins it, >= and ~= start at it). */
  version: z.string().regex(/^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$/, 'expected a release such as 3.0.4'),
});

export const Step = z.discriminatedUnion('recipe', [
  CommandStep,
  ReplaceStep,
  NpmUpgradeStep,
  GoUpgradeStep,
  MavenUpgradeStep,
  PythonUpgradeStep,
]);
export type Step = z.infer<typeof Step>;

export const VerificationPlan = z.strictObject({
  /** Run in every repository. */
  commands: z.array(z.string().min(1)).default([]),
  /**
   * Run, after `commands`, in repositories of that ecosystem only (judged by the execution plane from the manifest
   * files at the repository's root), so one campaign verifies a mixed fleet each with its own test runner.
   */
  byEcosystem: z
    .partialRecord(EcosystemName, z.array(z.string().min(1)).min(1, 'expected at least one command'))
    .optional(),
  /**
   * Run the commands on the untouched base too and compare (tests executed may not drop; failures the base already
   * had are pre-existing). Absent: on for runs no agent works on (see activities/execution/baseline.ts).
   */
  baseline: z.boolean().optional(),
});
export type VerificationPlan = z.infer<typeof VerificationPlan>;

/** Every command a verification plan may run in some repository: what policy checks against its allowlist. */
export function allVerifyCommands(plan: Pick<VerificationPlan, 'commands' | 'byEcosystem'>): string[] {
  return [...plan.commands, ...Object.values(plan.byEcosystem ?? {}).flatMap((commands) => commands ?? [])];
}

/** What a campaign asks of every run's toolchain; the repository's own declarations fill in the rest. */
export const ToolchainRequest = z.strictObject({
  node: z
    .string()
    .trim()
    .regex(
      /^(lts\/(\*|-\d+|[a-z]+)|node|latest|current|stable|(?=.*\d)v?[\d.xX*^~<>=|\s-]+)$/,
      'expected a Node.js version or range, e.g. "22", "22.12.0", "^22.12", ">=20", "lts/*" or "node"',
    )
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

/** When the agent works: on what the steps leave broken (`on_failure`), or as the main work (`always`). */
export const AgentMode = z.enum(['on_failure', 'always']);
export type AgentMode = z.infer<typeof AgentMode>;

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
  repo: RepoCheckout,
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
  approvedScope: z
    .strictObject({ paths: z.array(z.string().min(1)), commands: z.array(z.string().min(1)), by: z.string().min(1) })
    .optional(),
  /** What the agent may do in this run, from the policy decision; absent when policy grants it no tools. */
  agent: z
    .strictObject({
      task: z.string().min(1),
      mode: AgentMode,
      allowedTools: z.array(AgentTool),
      allowedCommands: z.array(z.string().min(1)),
      maxToolCalls: z.number().int().positive(),
      maxBudgetUsd: UsdAmount,
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

export const ARTIFACT_TYPES = [
  'patch',
  'log',
  'events',
  'verification',
  'transcript',
  'policy',
  'manifest',
  'targets',
] as const;
export const ArtifactRef = z.strictObject({
  name: z.string().min(1),
  type: z.enum(ARTIFACT_TYPES),
  uri: z.string().min(1),
  sha256: Sha256Digest,
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
  source: z.enum(['tap', 'junit', 'go-test-json']),
  tests: z.number().int().nonnegative(),
  passed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  todo: z.number().int().nonnegative().optional(),
  /** The failed tests by name, where the format names them (`go test -json`: package/TestName). */
  failedTests: z.array(z.string()).optional(),
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
    .array(
      z.strictObject({
        file: z.string(),
        tests: z.number().int().nonnegative(),
        failures: z.number().int().nonnegative(),
        errors: z.number().int().nonnegative(),
        skipped: z.number().int().nonnegative(),
        /** The failing test cases, `classname.name`. */
        failedTests: z.array(z.string()).optional(),
      }),
    )
    .optional(),
  /** The same commands on the base commit (absent: no baseline ran, or the result predates baselines). */
  baseline: z
    .strictObject({
      commit: z.string().min(1),
      testsRun: z.number().int().nonnegative(),
      failed: z.number().int().nonnegative(),
      cached: z.boolean(),
      durationMs: z.number().nonnegative(),
      /** The reports name no tests, so failures were compared by count. */
      countsOnly: z.boolean().optional(),
    })
    .optional(),
  /** Failures the base already had, still failing after the change: reported, not blamed on it (names, or counts). */
  preExisting: z.array(z.string()).optional(),
  /** What the comparison with the baseline found against the change ("lowers tests executed from 12 to 9"). */
  baselineFindings: z.array(z.string()).optional(),
});
export type VerificationReport = z.infer<typeof VerificationReport>;

/** One verify command as it ran on the base commit. */
export const BaselineCommand = z.strictObject({
  command: z.string().min(1),
  exitCode: z.number().int(),
  tests: TestCounts.optional(),
});
export type BaselineCommand = z.infer<typeof BaselineCommand>;

/** The verify plan's run on a base commit, as cached under `baselines/`: checked with this schema when read back. */
export const VerificationBaseline = z.strictObject({
  baselineVersion: z.literal(1),
  repo: z.string().min(1),
  commit: z.string().min(1),
  /** Hash of the verify commands and the toolchain they ran with. */
  planHash: z.string().min(1),
  commands: z.array(BaselineCommand),
  durationMs: z.number().nonnegative(),
  recordedAt: z.iso.datetime(),
});
export type VerificationBaseline = z.infer<typeof VerificationBaseline>;

export const CostReport = z.strictObject({
  model: z.string().optional(),
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  usd: UsdAmount,
});
export type CostReport = z.infer<typeof CostReport>;

/** Where an attempt's time went, phase by phase, in milliseconds (what none of them covers is the workspace's set-up). */
export const PhaseDurations = z.strictObject({
  cloneMs: z.number().nonnegative(),
  toolchainMs: z.number().nonnegative(),
  sandboxStartMs: z.number().nonnegative(),
  stepsMs: z.number().nonnegative(),
  agentMs: z.number().nonnegative(),
  verifyMs: z.number().nonnegative(),
  /** Stopping the sandbox, the patch, its checks and storing the artifacts. */
  evidenceMs: z.number().nonnegative(),
  /** The verify commands on the untouched base, or reading them from the cache (absent: no baseline). */
  baselineMs: z.number().nonnegative().optional(),
});
export type PhaseDurations = z.infer<typeof PhaseDurations>;

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
  scopeRequest: z
    .strictObject({
      paths: z.array(z.string()).optional(),
      commands: z.array(z.string()).optional(),
      reason: z.string(),
    })
    .optional(),
  cost: CostReport,
  manifest: ArtifactManifest,
  /** Time per phase (absent in results of workers older than phase timings). */
  durations: PhaseDurations.optional(),
  worker: z.strictObject({ identity: z.string(), hostname: z.string() }),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
});
export type ExecutionResult = z.infer<typeof ExecutionResult>;
