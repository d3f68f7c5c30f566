/** One run of a campaign on one repository: what it is asked to do, the states it moves through, and what it reports. */
import { z } from 'zod';
import { Failure, HttpUrl, RepoName, Slug, Target, TaskQueues, TaskType, UsdAmount } from './common';
import { AgentMode, ArtifactManifest, Step, ToolchainRequest, VerificationPlan } from './execution';
import { RUN_STATES } from './run-states';

export { RUN_STATES, SETTLED_RUN_STATES } from './run-states';
export const RunState = z.enum(RUN_STATES);
export type RunState = z.infer<typeof RunState>;

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
  agent: z.strictObject({ task: z.string().min(1), mode: AgentMode }),
  changeKey: Slug,
  paths: z.array(z.string().min(1)),
  preview: z.boolean(),
  approvalTimeoutMs: z.number().int().positive(),
  publishRetryWindowMs: z.number().int().positive(),
  leaseTimeoutMs: z.number().int().positive(),
  /** Absent in requests made before the engine wait existed; the run then waits the default. */
  dockerEngineWaitMs: z.number().int().min(0).optional(),
  /** What the campaign reserved for this run: the agent's cap is the smaller of this and the policy's. Absent in older requests. */
  runBudgetUsd: UsdAmount.optional(),
  /** Absent in requests made before the limit existed; such a run waits for an execution worker without end. */
  executionStartTimeoutMs: z.number().int().positive().optional(),
  /**
   * The run's `publishing` report is its request for a publish permit (one signal, not two). Set by campaigns that grant
   * permits that way; absent in older requests, whose runs ask by a signal of its own.
   */
  permitByReport: z.boolean().optional(),
  /** The campaign asks the patch audit's judge to compare the diff with its intent, whatever the bundle says. */
  judge: z.boolean().optional(),
  /**
   * The fold of RunWorkflow's patches the run takes without markers (workflows/run-patches.ts). Set on runs started by
   * today's code; absent in requests made before the fold, whose runs replay each patch by its marker.
   */
  foldedPatches: z.string().min(1).optional(),
  queues: TaskQueues,
});
export type RunRequest = z.infer<typeof RunRequest>;

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
  costUsd: UsdAmount,
  changeRequestUrl: z.string().optional(),
  /** On a `publishing` report of a run whose request says `permitByReport`: the forge host it asks a permit for. */
  permitHost: z.string().optional(),
  /** How long the latest execution's sandbox ran (ms), for the cost of a change request. */
  sandboxMs: z.number().nonnegative().optional(),
});
export type RunReport = z.infer<typeof RunReport>;
