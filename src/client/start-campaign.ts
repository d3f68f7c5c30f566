/**
 * Starting a campaign: the spec is validated, hashed without who asked, and started under its campaign id; starting
 * an id that exists returns that campaign, unless its spec differs.
 */
import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { CampaignSpec, type CampaignInput } from '../contracts';
import { hashSpec } from '../contracts/hash';
import { ContractViolationError, parseContract } from '../contracts/validate';
import type { ArtifactStore } from '../artifacts';
import { PAGE_SIZE, storeTargetPages } from '../artifacts/pages';
import type { RegattaConfig } from '../config';
import { campaignWorkflowId } from '../temporal/ids';
import { CampaignIdKey, TaskTypeKey } from '../temporal/search-attributes';
import type { CampaignWorkflow } from '../../workflows/campaign';
import { CampaignSpecConflictError, InvalidSpecError } from './errors';
import { callerIdentity, withRequester } from './identity';

export interface StartedCampaign {
  campaignId: string;
  workflowId: string;
  /** false when a campaign with this id already existed and was reused. */
  started: boolean;
  uiUrl: string;
}

export interface StartCampaignOptions {
  queues: RegattaConfig['queues'];
  /** Where a campaign larger than one page stores the rest of its targets. */
  artifacts: ArtifactStore;
  /** Who starts the campaign, over the spec's `requestedBy`. */
  requestedBy?: string;
}

const SPEC_HASH_MEMO = 'specHash';

/**
 * Validates the spec, then starts the campaign; starting an existing campaign id returns that campaign.
 * The run records who asked: the client's `requestedBy`, else the spec's, else the OS user.
 */
export async function startCampaign(
  temporal: Client,
  options: StartCampaignOptions,
  specInput: unknown,
  source?: string,
): Promise<Omit<StartedCampaign, 'uiUrl'>> {
  const spec = validateCampaignSpec(
    withRequester(specInput, { explicit: options.requestedBy, fallback: callerIdentity() }),
    source,
  );
  const workflowId = campaignWorkflowId(spec.id);
  // Who asks does not make it another campaign; what it would do does.
  const specHash = hashSpec({ ...spec, requestedBy: undefined });
  const input = await campaignInput(options, spec, specHash);
  let started = true;
  try {
    await temporal.workflow.start<typeof CampaignWorkflow>('CampaignWorkflow', {
      workflowId,
      taskQueue: options.queues.control,
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: CampaignIdKey, value: spec.id },
        { key: TaskTypeKey, value: spec.taskType },
      ],
      staticSummary: `Campaign ${spec.id}: ${spec.title}`,
      staticDetails: `${spec.targets.length} target(s)${input.targetPages ? ` (${input.targetPages.refs.length + 1} pages of ${PAGE_SIZE})` : ''}, task ${spec.taskType}, requested by ${spec.requestedBy}${spec.preview ? ', preview' : ''}`,
      memo: { [SPEC_HASH_MEMO]: specHash },
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    started = false;
    const existing = await startedSpecHash(temporal, workflowId);
    if (existing !== undefined && existing !== specHash) throw new CampaignSpecConflictError(spec.id);
  }
  return { campaignId: spec.id, workflowId, started };
}

/** A campaign larger than one page passes the rest of its targets by reference, stored before it starts. */
async function campaignInput(
  options: StartCampaignOptions,
  spec: CampaignSpec,
  specHash: string,
): Promise<CampaignInput> {
  const requestedAt = new Date().toISOString();
  if (spec.targets.length <= PAGE_SIZE) return { spec, queues: options.queues, requestedAt };
  const refs = await storeTargetPages(options.artifacts, spec.id, specHash, spec.targets);
  return {
    spec: { ...spec, targets: spec.targets.slice(0, PAGE_SIZE) },
    queues: options.queues,
    requestedAt,
    targetPages: { total: spec.targets.length, refs },
  };
}

/** The spec hash a campaign was started with, from its first run's memo (continue-as-new runs may not carry it). */
async function startedSpecHash(temporal: Client, workflowId: string): Promise<string | undefined> {
  const latest = await temporal.workflow.getHandle(workflowId).describe();
  const fromMemo = (d: { memo?: Record<string, unknown> }) => d.memo?.[SPEC_HASH_MEMO] as string | undefined;
  if (fromMemo(latest)) return fromMemo(latest);
  const firstRunId = latest.raw.workflowExecutionInfo?.firstRunId;
  return firstRunId ? fromMemo(await temporal.workflow.getHandle(workflowId, firstRunId).describe()) : undefined;
}

export function validateCampaignSpec(input: unknown, source?: string): CampaignSpec {
  try {
    return parseContract(CampaignSpec, input, 'campaign spec');
  } catch (err) {
    if (err instanceof ContractViolationError) throw new InvalidSpecError(err, source);
    throw err;
  }
}
