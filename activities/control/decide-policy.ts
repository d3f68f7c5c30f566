/** decidePolicy: the control plane asks the policy bundle about one run, and keeps the answer as evidence. */
import type { ArtifactRef, PolicyDecision, RunRequest } from '../../src/contracts';
import { allVerifyCommands, RunRequest as RunRequestSchema } from '../../src/contracts';
import { parseContract } from '../../src/contracts/validate';
import { evaluatePolicy, loadCommandPolicy, loadPolicyBundle, type PolicySubject } from '../../policies';

export interface DecisionRecorder {
  recordDecision(runId: string, decision: PolicyDecision): Promise<ArtifactRef>;
}

/** What a rule may see: repository metadata and the campaign's request, never repository content. */
export function policySubject(request: RunRequest): PolicySubject {
  return {
    repo: request.target.repo,
    owner: request.target.owner,
    tier: request.target.tier,
    language: request.target.language,
    taskType: request.taskType,
    requestedPaths: request.paths,
    commands: [
      ...request.steps.flatMap((s) => (s.recipe === 'command' ? [s.run] : [])),
      ...allVerifyCommands(request.verify),
    ],
  };
}

export function createDecidePolicy(policyFile: string | undefined, recorder?: DecisionRecorder) {
  return async function decidePolicy(input: RunRequest): Promise<PolicyDecision> {
    const request = parseContract(RunRequestSchema, input, 'run request');
    // Read on every decision, so an updated bundle applies to the next run and its hash says which one did.
    const policy = loadPolicyBundle(policyFile);
    const decision = evaluatePolicy(policy.bundle, policy.hash, policySubject(request), await loadCommandPolicy());
    await recorder?.recordDecision(request.runId, decision);
    return decision;
  };
}
