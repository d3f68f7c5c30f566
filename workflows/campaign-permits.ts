/** Publish permits: the campaign grants them per forge host, as its ledger's gate allows. */
import { condition, getExternalWorkflowHandle } from '@temporalio/workflow';
import { publishPermitGrantedSignal } from './definitions';
import type { CampaignLedger } from './ledger/campaign-ledger';

/** Campaigns started before permits were granted several to a task replay granting one per signal's delivery. */
export const PERMITS_IN_ONE_TASK_PATCH = 'permits-in-one-task';

export async function grantPublishPermits(
  ledger: CampaignLedger,
  done: () => boolean,
  onHeld: (until?: number) => void,
  inOneTask: boolean,
): Promise<void> {
  while (!done()) {
    await condition(() => done() || ledger.state.permitQueue.length > 0);
    if (done()) return;
    let next = ledger.nextPermit(Date.now());
    if (next.grant && inOneTask) {
      // Every permit the gate allows now goes out in this task; a run that ended meanwhile simply does not use its own.
      const grants: Promise<void>[] = [];
      for (; next.grant; next = ledger.nextPermit(Date.now()))
        grants.push(
          getExternalWorkflowHandle(next.grant.runId)
            .signal(publishPermitGrantedSignal)
            .catch(() => undefined),
        );
      onHeld(undefined);
      await Promise.all(grants);
      continue;
    }
    if (next.grant) {
      await getExternalWorkflowHandle(next.grant.runId).signal(publishPermitGrantedSignal);
      onHeld(undefined);
    } else if (next.waitUntil !== undefined) {
      onHeld(next.waitUntil);
      await condition(done, Math.max(1, next.waitUntil - Date.now()));
    }
  }
}
