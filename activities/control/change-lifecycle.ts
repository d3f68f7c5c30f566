/**
 * The change lifecycle's control activities: where a change branch stands against its moved base, re-applying a
 * run's patch there (publishing's own path) or handing the tracker what it needs to execute the run again, merging
 * where policy allows, closing superseded change requests, and finding reverts. Metadata and patches only: no
 * repository code runs here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { loadPolicyBundle } from '../../policies';
import type { AutomergePolicy, ChangeRequest, PublishRequest, RebaseWhen, RunRequest } from '../../src/contracts';
import { ForgeRequestError } from '../../src/forges/errors';
import type { RepoRef } from '../../src/forges/types';
import { applyToClone, cloneBase } from '../../src/git/branch';
import { branchState, type BranchState } from '../../src/git/branch-state';
import { PatchConflictError } from '../../src/patch/apply';
import { LIFECYCLE_UNAVAILABLE } from '../../src/temporal/failure-types';
import { mapInResumableBatches } from '../../src/temporal/resumable-batches';
import { RUN_PATCH_FOLD } from '../../src/temporal/run-patch-fold';
import { changeBranch, rebaseGovernorWorkflowId } from '../../src/temporal/ids';
import {
  returnRebasePermitSignal,
  takeRebasePermitUpdate,
  type RebaseGovernorWorkflow,
  type RebasePermitAnswer,
  type RebasePermitRequest,
} from '../../workflows/rebase-governor';
import { createPublishChangeRequest, readingForge, readPatch, type PublishDeps } from './publish';

export interface LifecycleDeps {
  publish: PublishDeps;
  policyFile?: string;
  /** Reads a run's recorded request and publish request back from its history (absent: rebasing is unavailable). */
  client?: () => Client | undefined;
}

/** A change branch the tracker watches, with what it learnt of it at the last look. */
export interface BranchLook {
  repo: string;
  url: string;
  base: string;
  branch: string;
  known?: Pick<BranchState, 'head' | 'headParent' | 'headCampaign'>;
}

export type RebaseOutcome =
  | { outcome: 'rebased'; head: string }
  /** The change request merged between the tracker's poll and the rebase: nothing was pushed. */
  | { outcome: 'merged' }
  /** `conflicted` mode: the patch still applies to the moved base, so nothing is pushed. */
  | { outcome: 'applies' }
  | { outcome: 'conflict'; message: string }
  | { outcome: 'failed'; message: string };

export type AutomergeOutcome =
  | { outcome: 'merged'; changeRequest: ChangeRequest }
  | { outcome: 'waiting'; reason: string }
  | { outcome: 'denied'; reason: string };

/** Absent from a bundle: a campaign that asks for automerge gets it, once checks pass. */
const DEFAULT_AUTOMERGE: AutomergePolicy = { enabled: true, method: 'merge', requireApprovals: 0 };

export function createLifecycleActivities(deps: LifecycleDeps) {
  const { forge } = deps.publish;
  const publish = createPublishChangeRequest(deps.publish);
  const auth = () => forge.gitAuth?.();
  const requireClient = () => {
    const client = deps.client?.();
    if (!client)
      throw ApplicationFailure.nonRetryable(
        'this control worker has no Temporal client to read runs with; give it one to rebase change requests',
        LIFECYCLE_UNAVAILABLE,
      );
    return client;
  };
  const recorded = async (runId: string) => recordedInputs(requireClient(), runId);

  return {
    /** The base branch a run published against (its target's ref), read once per change by the tracker. */
    async changeBaseOf(input: { runId: string }): Promise<string> {
      return (await recorded(input.runId)).request.target.ref;
    },

    /** Where each change branch stands: the base's tip, and the head's parent and campaign when the head changed. */
    async inspectChangeBranches(looks: BranchLook[]): Promise<BranchState[]> {
      return mapInResumableBatches(looks, (look) =>
        branchState({ url: look.url, base: look.base, branch: look.branch, auth: auth() }, look.known),
      );
    },

    /**
     * Re-applies the run's patch to the moved base through publishing's own path (fresh clone, patch as data,
     * deterministic commit, push, change request updated); in `conflicted` mode only tries it, pushing nothing.
     */
    async rebaseChangeRequest(input: { runId: string; rebaseWhen: RebaseWhen }): Promise<RebaseOutcome> {
      const { publishRequest } = await recorded(input.runId);
      if (!publishRequest) return { outcome: 'failed', message: `run ${input.runId} recorded no publish request` };
      // A merge moves the base too: one that landed after the tracker's poll is neither rebased nor executed again.
      const repo: RepoRef = { name: publishRequest.repo.name, url: publishRequest.repo.url };
      const current = await readingForge(() => forge.findChangeRequest(repo, publishRequest.branch));
      if (current?.state === 'merged') return { outcome: 'merged' };
      if (input.rebaseWhen === 'conflicted') return tryApplying(deps.publish, publishRequest);
      const published = await publish(publishRequest);
      if (published.ok)
        return published.changeRequest.state === 'merged'
          ? { outcome: 'merged' }
          : { outcome: 'rebased', head: published.changeRequest.headCommit };
      if (published.reason === 'conflict') return { outcome: 'conflict', message: published.message };
      return { outcome: 'failed', message: `${published.reason}: ${published.message}` };
    },

    /**
     * The run's request again, for a new run on the moved base: it executes and is verified before anything is pushed.
     * The new run starts on today's workflow code, so it takes today's fold of the run's patches.
     */
    async reexecutionRequest(input: { runId: string; newRunId: string }): Promise<RunRequest> {
      const { request } = await recorded(input.runId);
      return { ...request, runId: input.newRunId, foldedPatches: RUN_PATCH_FOLD };
    },

    /** Merges through the forge when policy allows it, the forge's checks pass and policy's approvals are in. */
    async automergeChangeRequest(input: { repo: string; url: string; branch: string }): Promise<AutomergeOutcome> {
      const policy = loadPolicyBundle(deps.policyFile);
      const rules = policy.bundle.automerge ?? DEFAULT_AUTOMERGE;
      if (!rules.enabled)
        return {
          outcome: 'denied',
          reason: `policy ${policy.bundle.name}@${policy.bundle.version} does not allow automerge`,
        };
      const repo: RepoRef = { name: input.repo, url: input.url };
      const cr = await readingForge(() => forge.findChangeRequest(repo, input.branch));
      if (!cr || cr.state !== 'open')
        return { outcome: 'waiting', reason: `the change request is ${cr?.state ?? 'gone'}` };
      if (cr.checks !== 'passing') return { outcome: 'waiting', reason: `checks ${cr.checks ?? 'none'}` };
      const approvals = rules.requireApprovals ? await readingForge(() => forge.approvalCount(repo, cr.number)) : 0;
      if (approvals < rules.requireApprovals)
        return { outcome: 'waiting', reason: `${approvals} of ${rules.requireApprovals} approvals` };
      // A refusal (conflicts, a rule of the forge's) is not a failure of the tracker: it waits, and says why.
      const merged = await readingForge(() =>
        forge.mergeChangeRequest(repo, cr.number, { method: rules.method }).catch((err: unknown) => {
          if (err instanceof ForgeRequestError && !err.retryable) return err;
          throw err;
        }),
      );
      if (merged instanceof ForgeRequestError)
        return { outcome: 'waiting', reason: `the forge refused the merge: ${merged.message}` };
      return { outcome: 'merged', changeRequest: merged };
    },

    /** Closes the open change requests of the superseded change keys in this repository, each with a link to its successor. */
    async closeSupersededChangeRequests(input: {
      repo: string;
      url: string;
      supersedes: string[];
      successor: { url: string; campaignId: string };
    }): Promise<{ branch: string; number: number; url: string }[]> {
      const repo: RepoRef = { name: input.repo, url: input.url };
      const closed: { branch: string; number: number; url: string }[] = [];
      for (const key of input.supersedes) {
        const branch = changeBranch(key);
        const cr = await readingForge(() => forge.findChangeRequest(repo, branch));
        if (cr?.state !== 'open' || cr.url === input.successor.url) continue;
        await readingForge(() =>
          forge.commentOnChangeRequest(
            repo,
            cr.number,
            `Superseded by ${input.successor.url} (Regatta campaign ${input.successor.campaignId}, which replaces change ${key}); closing this one.`,
          ),
        );
        await readingForge(() => forge.closeChangeRequest(repo, cr.number));
        closed.push({ branch, number: cr.number, url: cr.url });
      }
      return closed;
    },

    /**
     * A permit from the host's rebase governor (update-with-start: the first tracker to ask starts it), counted across
     * every campaign on the host; refused with the host's count when the bound is reached.
     */
    async takeRebasePermit(
      input: RebasePermitRequest & { host: string; taskQueue: string },
    ): Promise<RebasePermitAnswer> {
      const client = requireClient();
      const { host, taskQueue, ...request } = input;
      return client.workflow.executeUpdateWithStart(takeRebasePermitUpdate, {
        args: [request],
        startWorkflowOperation: new WithStartWorkflowOperation<typeof RebaseGovernorWorkflow>(
          'RebaseGovernorWorkflow',
          {
            workflowId: rebaseGovernorWorkflowId(host, taskQueue),
            taskQueue,
            args: [{ host }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            staticSummary: `Rebase governor for ${host}`,
          },
        ),
      });
    },

    /** Gives back a permit a rebase did not use (the patch still applied); a governor that has ended owes nothing. */
    async returnRebasePermit(input: { host: string; taskQueue: string; campaignId: string; repo: string }) {
      await requireClient()
        .workflow.getHandle(rebaseGovernorWorkflowId(input.host, input.taskQueue))
        .signal(returnRebasePermitSignal, { campaignId: input.campaignId, repo: input.repo })
        .catch((err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        });
    },

    /** For each merged change, the commit on its base that reverts its merge commit, if any (null where none). */
    async findReverts(
      merged: { repo: string; url: string; base: string; mergeCommit: string }[],
    ): Promise<({ commit: string; at: string } | null)[]> {
      return mapInResumableBatches(
        merged,
        async (m) => (await forge.findRevert({ name: m.repo, url: m.url }, m.base, m.mergeCommit)) ?? null,
      );
    },
  };
}

/** `conflicted` mode: whether the patch still applies to the base as it is now (a fresh clone; nothing pushed). */
async function tryApplying(deps: PublishDeps, request: PublishRequest): Promise<RebaseOutcome> {
  const files = await readPatch(deps.artifacts, request);
  if (!Array.isArray(files)) return { outcome: 'failed', message: `${files.reason}: ${files.message}` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-rebase-check-'));
  try {
    await cloneBase(dir, { url: request.repo.url, base: request.repo.ref, auth: deps.forge.gitAuth?.() });
    await applyToClone(dir, files);
    return { outcome: 'applies' };
  } catch (err) {
    if (err instanceof PatchConflictError) return { outcome: 'conflict', message: err.message };
    throw err;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A run's request (its workflow's input) and its last publish request, as its history recorded them. */
async function recordedInputs(
  client: Client,
  runId: string,
): Promise<{ request: RunRequest; publishRequest?: PublishRequest }> {
  const history = await client.workflow.getHandle(runId).fetchHistory();
  let request: RunRequest | undefined;
  let publishRequest: PublishRequest | undefined;
  for (const event of history.events ?? []) {
    const started = event.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (started) request = defaultPayloadConverter.fromPayload<RunRequest>(started);
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'publishChangeRequest' && scheduled.input?.payloads?.[0])
      publishRequest = defaultPayloadConverter.fromPayload<PublishRequest>(scheduled.input.payloads[0]);
  }
  if (!request) throw new Error(`run ${runId} has no recorded request in its history`);
  return { request, ...(publishRequest ? { publishRequest } : {}) };
}
