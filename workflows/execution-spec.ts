/** Builds the immutable ExecutionSpec from a run request; pure, so replay always builds the same spec. */
import type { ExecutionSpec, RunRequest, SandboxLimits } from '../src/contracts';

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  runTimeoutMs: 15 * 60_000,
  commandTimeoutMs: 5 * 60_000,
  maxOutputBytes: 1024 * 1024,
  memoryBytes: 1024 * 1024 * 1024,
  nanoCpus: 1_000_000_000,
  pids: 256,
};

export function buildExecutionSpec(request: RunRequest): ExecutionSpec {
  return {
    specVersion: 1,
    runId: request.runId,
    campaignId: request.campaignId,
    repo: { name: request.target.repo, url: request.target.url, ref: request.target.ref },
    steps: request.steps,
    verify: request.verify,
    network: 'none',
    limits: DEFAULT_SANDBOX_LIMITS,
    allowedPaths: ['**'],
    forbiddenPaths: ['.git/**'],
    maxPatchFiles: 200,
    policy: { version: 'unversioned', hash: 'none' },
  };
}
