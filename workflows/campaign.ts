/**
 * CampaignWorkflow (`campaign/<campaignId>`): fans a spec out into one RunWorkflow per target,
 * at most `maxConcurrentRuns` at a time, and reports each repository's outcome.
 */
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  condition,
  isCancellation,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
  startChild,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { CampaignInput, CampaignResult, RunRequest, RunState, RunSummary, Target } from '../src/contracts';
import { runWorkflowId } from '../src/temporal/ids';
import { CampaignIdKey, OwnerKey, RepositoryKey, RunStateKey, TaskTypeKey } from '../src/temporal/search-attributes';
import { campaignProgressQuery } from './definitions';
import { RunWorkflow } from './run';

export interface CampaignProgress {
  campaignId: string;
  total: number;
  inFlight: number;
  counts: Partial<Record<RunState, number>>;
}

export async function CampaignWorkflow(input: CampaignInput): Promise<CampaignResult> {
  const { spec } = input;
  const finished: RunSummary[] = [];
  let inFlight = 0;

  const progress = (): CampaignProgress => ({
    campaignId: spec.id,
    total: spec.targets.length,
    inFlight,
    counts: countByState(finished),
  });
  setHandler(campaignProgressQuery, progress);

  const runOne = async (target: Target): Promise<void> => {
    inFlight++;
    try {
      finished.push(await runChild(input, target));
    } finally {
      inFlight--;
      const p = progress();
      setCurrentDetails(`${finished.length}/${p.total} runs finished, ${p.inFlight} in flight`);
    }
  };

  const running: Promise<void>[] = [];
  for (const target of spec.targets) {
    await condition(() => inFlight < spec.maxConcurrentRuns);
    running.push(runOne(target));
  }
  await Promise.all(running);

  const ordered = spec.targets.map((t) => finished.find((r) => r.repo === t.repo)!);
  return { campaignId: spec.id, runs: ordered, counts: countByState(ordered) };
}

async function runChild(input: CampaignInput, target: Target): Promise<RunSummary> {
  const { spec } = input;
  const runId = runWorkflowId(spec.id, target.repo);
  const request: RunRequest = {
    campaignId: spec.id,
    runId,
    title: spec.title,
    taskType: spec.taskType,
    requestedBy: spec.requestedBy,
    requestedAt: input.requestedAt,
    target,
    steps: spec.steps,
    verify: spec.verify,
    preview: spec.preview,
    queues: input.queues,
  };
  try {
    const child = await startChild(RunWorkflow, {
      workflowId: runId,
      args: [request],
      taskQueue: input.queues.control,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      // A campaign that continues or restarts reattaches to its runs instead of repeating them.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: CampaignIdKey, value: spec.id },
        { key: RepositoryKey, value: target.repo },
        { key: RunStateKey, value: 'pending' },
        { key: TaskTypeKey, value: spec.taskType },
        ...(target.owner ? [{ key: OwnerKey, value: target.owner }] : []),
      ],
      staticSummary: `${spec.title} — ${target.repo}`,
      staticDetails: `campaign \`${spec.id}\`, repository ${target.url} @ ${target.ref}, task ${spec.taskType}`,
    });
    return await child.result();
  } catch (err) {
    if (isCancellation(err)) throw err;
    const message = err instanceof ChildWorkflowFailure ? (err.cause?.message ?? err.message) : String(err);
    if (err instanceof ApplicationFailure || err instanceof ChildWorkflowFailure) {
      return { runId, repo: target.repo, state: 'failed', failure: { kind: 'infra', message }, touchedFiles: [], events: [] };
    }
    throw err;
  }
}

function countByState(runs: readonly RunSummary[]): Partial<Record<RunState, number>> {
  const counts: Partial<Record<RunState, number>> = {};
  for (const run of runs) counts[run.state] = (counts[run.state] ?? 0) + 1;
  return counts;
}
