/** Cancelling a campaign: admission stops and every unsettled run is asked to cancel. */
import { getExternalWorkflowHandle } from '@temporalio/workflow';
import type { CampaignLedger } from './ledger/campaign-ledger';

/** Campaigns started before a cancelled campaign workflow cancelled its runs replay without it. */
export const CANCEL_CASCADE_PATCH = 'campaign-cancel-cascade';
/** How long a cancelled campaign waits for its runs to report their cancellation before it closes anyway. */
export const CANCELLED_RUNS_WAIT_MS = 10 * 60_000;
/** Temporal refuses more than 2,000 pending cancellation requests per workflow; they are sent in batches well below it. */
const CANCEL_BATCH = 500;

/** Stops admission and asks every unsettled run to cancel, a batch at a time; a run that has just ended is left as it ended. */
export async function cancelRuns(ledger: CampaignLedger, reason: string): Promise<void> {
  ledger.cancel(reason);
  const runIds = ledger.unsettled().map((run) => run.runId);
  for (let i = 0; i < runIds.length; i += CANCEL_BATCH) {
    await Promise.all(
      runIds.slice(i, i + CANCEL_BATCH).map((runId) =>
        getExternalWorkflowHandle(runId)
          .cancel()
          .catch(() => undefined),
      ),
    );
  }
}
