/** The control plane's activities: decisions and publishing, never repository code. */
import type { ArtifactStore } from '../../src/artifacts/store';
import { runArtifactKey } from '../../src/artifacts/store';
import { artifactStoreFor } from '../../src/artifacts';
import { readTargetPage, readTrackedChanges, storeTrackedChanges } from '../../src/artifacts/pages';
import { loadConfig } from '../../src/config';
import type { ChangeRequest, ChangeRequestSummary, Target, TargetPageRef, TrackedChange } from '../../src/contracts';
import type { Forge } from '../../src/forges/types';
import type { ModelProvider } from '../../src/agent/model-provider';
import type { Client } from '@temporalio/client';
import { createAuditPatch } from './audit-patch';
import { createLifecycleActivities } from './change-lifecycle';
import { checkCommands } from './check-commands';
import { createDecidePolicy, type DecisionRecorder } from './decide-policy';
import { createGovernorActivities, type GovernorDeps } from './governor';
import { createMeasureWaveGate } from './measure-wave';
import { createPublishChangeRequest, readingForge, type PublishDeps } from './publish';
import { mapInResumableBatches } from '../../src/temporal/resumable-batches';

export interface ControlActivityDeps {
  /** The policy bundle file; the default bundle when absent. */
  policyFile?: string;
  /** Where decisions are kept as evidence, beside the run's other artifacts. */
  artifacts?: ArtifactStore;
  /** Publishing: absent on a control plane that only previews. */
  publish?: PublishDeps;
  /** The fleet-wide publish governor; without it, only each campaign's own rate applies. */
  governor?: GovernorDeps;
  /** The patch audit's judge model, read when policy or a campaign asks for the judge. */
  judgeModel?(): ModelProvider | undefined;
  /** Reads runs' recorded requests for the change lifecycle (rebase, re-execution); the governor's client when absent. */
  client?(): Client | undefined;
}

export function createControlActivities(deps: ControlActivityDeps) {
  const recorder: DecisionRecorder | undefined = deps.artifacts && {
    recordDecision: (runId, decision) =>
      deps.artifacts!.put(
        runArtifactKey(runId, 'policy', 'decision.json'),
        JSON.stringify(decision, null, 2),
        'policy',
      ),
  };
  return {
    decidePolicy: createDecidePolicy(deps.policyFile, recorder),
    checkCommands,
    auditPatch: createAuditPatch({ artifacts: configuredStore(deps.artifacts), judgeModel: deps.judgeModel }),
    ...pageActivities(deps.artifacts),
    ...(deps.publish ? publishingActivities(deps.publish) : {}),
    ...(deps.publish
      ? createLifecycleActivities({
          publish: deps.publish,
          policyFile: deps.policyFile,
          client: () => deps.client?.() ?? deps.governor?.client,
        })
      : {}),
    ...(deps.governor ? createGovernorActivities(deps.governor) : {}),
  };
}

/**
 * A large campaign reads its targets a page at a time, and stores its published changes a page at a time for its
 * tracker; the configured store holds them where the deps name none.
 */
function pageActivities(artifacts: ArtifactStore | undefined) {
  const store = configuredStore(artifacts);
  return {
    readTargetPage: (ref: TargetPageRef): Promise<Target[]> => readTargetPage(store(), ref),
    storeTrackedChanges: (input: {
      campaignId: string;
      page: number;
      changes: TrackedChange[];
    }): Promise<TargetPageRef> => storeTrackedChanges(store(), input.campaignId, input.page, input.changes),
    readTrackedChanges: (ref: TargetPageRef): Promise<TrackedChange[]> => readTrackedChanges(store(), ref),
  };
}

/** The deps' store, or the configured one, made when first needed. */
function configuredStore(artifacts: ArtifactStore | undefined): () => ArtifactStore {
  let fallback: ArtifactStore | undefined;
  return () => artifacts ?? (fallback ??= artifactStoreFor(loadConfig()));
}

function publishingActivities(publish: PublishDeps) {
  return {
    publishChangeRequest: createPublishChangeRequest(publish),
    measureWaveGate: createMeasureWaveGate(publish.forge),
    /** Which of these repositories already have an open change request on the branch (for desired-state firings). */
    async reposWithOpenChangeRequest(input: { targets: Target[]; branch: string }): Promise<string[]> {
      const open = await mapInResumableBatches(input.targets, async (target) => {
        const found = await readingForge(() =>
          publish.forge.findChangeRequest({ name: target.repo, url: target.url }, input.branch),
        );
        return found?.state === 'open';
      });
      return input.targets.filter((_, i) => open[i]).map((t) => t.repo);
    },
    /** What the burndown needs of each tracked change request (null where the forge has none): a batch stays small. */
    async changeRequestSummaries(changes: TrackedChange[]): Promise<Record<string, ChangeRequestSummary | null>> {
      const read = (change: TrackedChange) =>
        readingForge(() => publish.forge.findChangeRequest({ name: change.repo, url: change.url }, change.branch));
      const found = await mapInResumableBatches(changes, async (change) => {
        const cr = await read(change);
        return cr ? { state: cr.state, checks: cr.checks, url: cr.url } : null;
      });
      return Object.fromEntries(changes.map((change, i) => [change.repo, found[i]]));
    },
    /** The current state of each tracked change request (null where the forge has none). */
    async changeRequestStates(changes: TrackedChange[]): Promise<Record<string, ChangeRequest | null>> {
      const read = (change: TrackedChange) =>
        readingForge(() => publish.forge.findChangeRequest({ name: change.repo, url: change.url }, change.branch));
      const found = await mapInResumableBatches(changes, async (change) => (await read(change)) ?? null);
      return Object.fromEntries(changes.map((change, i) => [change.repo, found[i]]));
    },
  };
}

export type { Forge };
