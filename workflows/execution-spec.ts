/** Builds the immutable ExecutionSpec from a run request and its policy decision; pure, so replay builds the same spec. */
import type { ExecutionSpec, PolicyDecision, RunRequest } from '../src/contracts';

const COMMAND_TIMEOUT_MS = 5 * 60_000;

export function buildExecutionSpec(request: RunRequest, decision: PolicyDecision): ExecutionSpec {
  return {
    specVersion: 1,
    runId: request.runId,
    campaignId: request.campaignId,
    repo: { name: request.target.repo, url: request.target.url, ref: request.target.ref },
    steps: request.steps,
    // Only policy names generated paths; absent when it names none, so existing specs keep their hash.
    verify: decision.verifyGeneratedPaths?.length
      ? { ...request.verify, generatedPaths: decision.verifyGeneratedPaths }
      : request.verify,
    toolchain: request.toolchain,
    network: decision.network,
    limits: {
      runTimeoutMs: decision.maxDurationMs,
      commandTimeoutMs: Math.min(COMMAND_TIMEOUT_MS, decision.maxDurationMs),
      maxOutputBytes: 1024 * 1024,
      memoryBytes: 1024 * 1024 * 1024,
      nanoCpus: 1_000_000_000,
      pids: 256,
    },
    allowedPaths: decision.allowedPaths,
    forbiddenPaths: decision.forbiddenPaths,
    maxPatchFiles: decision.maxPatchFiles,
    policy: { version: `${decision.bundle.name}@${decision.bundle.version}`, hash: decision.bundle.hash },
    agent:
      decision.allowedTools.length > 0 && decision.maxToolCalls > 0
        ? {
            ...request.agent,
            allowedTools: decision.allowedTools,
            allowedCommands: decision.allowedCommands,
            maxToolCalls: decision.maxToolCalls,
            // The campaign reserved runBudgetUsd for this run: spending more would let the campaign overrun its budget.
            maxBudgetUsd:
              request.runBudgetUsd === undefined
                ? decision.maxBudgetUsd
                : Math.min(decision.maxBudgetUsd, request.runBudgetUsd),
          }
        : undefined,
  };
}
