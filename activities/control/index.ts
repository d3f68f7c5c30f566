/** The control plane's activities: decisions and publishing, never repository code. */
import type { ArtifactStore } from '../../src/artifacts/store';
import { runArtifactKey } from '../../src/artifacts/store';
import type { ChangeRequest, Target, TrackedChange } from '../../src/contracts';
import type { Forge } from '../../src/forges/types';
import { checkCommands } from './check-commands';
import { createDecidePolicy, type DecisionRecorder } from './decide-policy';
import { createGovernorActivities, type GovernorDeps } from './governor';
import { createPublishChangeRequest, readingForge, type PublishDeps } from './publish';

export interface ControlActivityDeps {
  /** The policy bundle file; the default bundle when absent. */
  policyFile?: string;
  /** Where decisions are kept as evidence, beside the run's other artifacts. */
  artifacts?: ArtifactStore;
  /** Publishing: absent on a control plane that only previews. */
  publish?: PublishDeps;
  /** The fleet-wide publish governor; without it, only each campaign's own rate applies. */
  governor?: GovernorDeps;
}

export function createControlActivities(deps: ControlActivityDeps) {
  const recorder: DecisionRecorder | undefined = deps.artifacts && {
    recordDecision: (runId, decision) => deps.artifacts!.put(runArtifactKey(runId, 'policy', 'decision.json'), JSON.stringify(decision, null, 2), 'policy'),
  };
  return {
    decidePolicy: createDecidePolicy(deps.policyFile, recorder),
    checkCommands,
    ...(deps.publish ? publishingActivities(deps.publish) : {}),
    ...(deps.governor ? createGovernorActivities(deps.governor) : {}),
  };
}

function publishingActivities(publish: PublishDeps) {
  return {
    publishChangeRequest: createPublishChangeRequest(publish),
    /** Which of these repositories already have an open change request on the branch (for desired-state firings). */
    async reposWithOpenChangeRequest(input: { targets: Target[]; branch: string }): Promise<string[]> {
      const open: string[] = [];
      for (const target of input.targets) {
        const found = await readingForge(() => publish.forge.findChangeRequest({ name: target.repo, url: target.url }, input.branch));
        if (found?.state === 'open') open.push(target.repo);
      }
      return open;
    },
    /** The current state of each tracked change request (null where the forge has none). */
    async changeRequestStates(changes: TrackedChange[]): Promise<Record<string, ChangeRequest | null>> {
      const states: Record<string, ChangeRequest | null> = {};
      for (const change of changes) states[change.repo] = (await readingForge(() => publish.forge.findChangeRequest({ name: change.repo, url: change.url }, change.branch))) ?? null;
      return states;
    },
  };
}

export type { Forge };
