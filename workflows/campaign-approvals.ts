/** Approving or rejecting a campaign's run: the update's validator, and the decision sent on to the run. */
import { condition, getExternalWorkflowHandle, patched } from '@temporalio/workflow';
import type { RunReport } from '../src/contracts';
import { approvalDecidedSignal, type RunApprovalRequest } from './definitions';
import type { CampaignLedger } from './ledger/campaign-ledger';

export function assertAwaitingApproval(
  ledger: CampaignLedger,
  deciding: ReadonlyMap<string, string>,
  request: RunApprovalRequest,
): void {
  const run = ledger.state.runs[request.runId];
  if (!run) throw new Error(`run ${request.runId} is not part of campaign ${ledger.spec.id}`);
  const decided = deciding.get(request.runId);
  if (decided) throw new Error(`run ${request.runId} was already ${decided}; the decision is being applied`);
  if (run.state !== 'needs_approval') throw new Error(`run ${request.runId} is ${run.state}, not awaiting approval`);
}

/** Campaigns started before approvals answered with the state after the decision answer with the report they had. */
const APPROVAL_ANSWERS_AFTER_DECISION_PATCH = 'approval-answers-after-decision';

/** Sends the decision to the run and answers with the run's report once the run has acted on it. */
export async function decideApproval(
  ledger: CampaignLedger,
  deciding: Map<string, string>,
  request: RunApprovalRequest,
  approved: boolean,
) {
  await getExternalWorkflowHandle(request.runId).signal(approvalDecidedSignal, {
    approved,
    by: request.by,
    comment: request.comment,
  });
  if (!patched(APPROVAL_ANSWERS_AFTER_DECISION_PATCH)) return ledger.state.runs[request.runId];
  deciding.set(request.runId, `${approved ? 'approved' : 'rejected'} by ${request.by}`);
  let after: RunReport | undefined;
  ledger.onReport(request.runId, (report) => {
    if (report.state !== 'needs_approval') after = report;
    return after !== undefined;
  });
  await condition(() => after !== undefined);
  deciding.delete(request.runId);
  return after!;
}
