/**
 * CampaignWorkflow (`campaign/<campaignId>`): admits one RunWorkflow per target through a sliding window,
 * under budget, per-owner limits and a failure circuit breaker; grants publish permits per forge host;
 * continues-as-new before its history grows large, carrying its ledger.
 */
import {
  CancellationScope,
  condition,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import type { CampaignInput, CampaignResult } from '../src/contracts';
import { CampaignLedger, newLedger, type LedgerState } from './ledger/campaign-ledger';
import {
  approveRunUpdate,
  campaignProgressQuery,
  cancelCampaignUpdate,
  pauseCampaignSignal,
  publishHeldSignal,
  publishPermitRequestedSignal,
  rejectRunUpdate,
  resumeCampaignSignal,
  runReportSignal,
} from './definitions';
import { admitAndSettle } from './campaign-admission';
import type { TrackerFeedState } from './campaign-tracker-feed';
import { assertAwaitingApproval, decideApproval } from './campaign-approvals';
import { CANCEL_CASCADE_PATCH, CANCELLED_RUNS_WAIT_MS, cancelRuns } from './campaign-cancellation';
import { describeRollout, handleWaveDecisions, startRollout, withRollout, type WaveState } from './waves';

export type { CampaignProgress } from './definitions';

export interface CampaignWorkflowInput extends CampaignInput {
  /** The ledger carried across continue-as-new; absent on the first run. */
  ledger?: LedgerState;
  /** Continue-as-new after this many history events even if the server has not suggested it yet. */
  historyLimit?: number;
  /** The rollout's waves carried across continue-as-new; absent on the first run. */
  waves?: WaveState;
  /** What the campaign has handed its change tracker, carried across continue-as-new; absent on the first run. */
  tracker?: TrackerFeedState;
}

/** Campaigns started before failure signatures kept the failing command and error line replay the coarse ones. */
const BREAKER_SIGNATURE_PATCH = 'breaker-signature';
/** Campaigns started before a late report of an ended run was ignored replay counting it again. */
const COUNTS_RUNS_ONCE_PATCH = 'ledger-counts-once';

/** Campaigns started before rollouts in waves had none (a spec could not name one). */
const WAVES_PATCH = 'waves';

export async function CampaignWorkflow(input: CampaignWorkflowInput): Promise<CampaignResult> {
  const rollout = input.spec.rollout && patched(WAVES_PATCH) ? startRollout(input) : undefined;
  const spec = rollout?.spec ?? input.spec;
  const ledger = new CampaignLedger(spec, input.ledger ?? newLedger(input.targetPages), {
    preciseSignatures: patched(BREAKER_SIGNATURE_PATCH),
    countsRunsOnce: patched(COUNTS_RUNS_ONCE_PATCH),
  });
  let heldUntil: number | undefined;
  const waves = rollout?.rollout;
  const progress = () => withRollout(ledger, waves, ledger.progress(heldUntil));
  const refreshDetails = () => {
    const p = progress();
    const counts = Object.entries(p.counts)
      .map(([state, n]) => `${state} ${n}`)
      .join(', ');
    setCurrentDetails(
      `${p.admitted}/${p.total} admitted, ${p.inFlight} in flight — ${counts}` +
        (p.rollout ? `\n\n${describeRollout(p)}` : '') +
        (p.pausedReason ? `\n\n**${p.pausedReason}**` : ''),
    );
  };

  setHandler(campaignProgressQuery, progress);
  setHandler(runReportSignal, (report) => {
    ledger.record(report);
    waves?.record(report, Date.now());
    refreshDetails();
  });
  setHandler(publishPermitRequestedSignal, (request) => {
    ledger.queuePermit(request);
  });
  setHandler(publishHeldSignal, ({ host, untilMs, reason }) => {
    ledger.holdHost(host, untilMs, reason);
  });
  setHandler(pauseCampaignSignal, ({ reason }) => ledger.pause(reason));
  setHandler(resumeCampaignSignal, () => {
    ledger.resume();
    waves?.resume();
  });
  if (waves) handleWaveDecisions(waves, ledger, refreshDetails);
  const deciding = new Map<string, string>();
  setHandler(approveRunUpdate, (request) => decideApproval(ledger, deciding, request, true), {
    validator: (r) => assertAwaitingApproval(ledger, deciding, r),
  });
  setHandler(rejectRunUpdate, (request) => decideApproval(ledger, deciding, request, false), {
    validator: (r) => assertAwaitingApproval(ledger, deciding, r),
  });
  setHandler(cancelCampaignUpdate, async ({ by, reason }) => {
    await cancelRuns(ledger, `cancelled by ${by}${reason ? `: ${reason}` : ''}`);
    await condition(() => ledger.unsettledCount() === 0);
    return ledger.progress();
  });

  try {
    return await admitAndSettle(input, ledger, waves, refreshDetails, (until) => {
      heldUntil = until;
      refreshDetails();
    });
  } catch (err) {
    // Cancelling the workflow itself (Web UI, `temporal workflow cancel`, a schedule's overlap policy) cancels its runs too.
    if (!isCancellation(err) || !patched(CANCEL_CASCADE_PATCH)) throw err;
    await CancellationScope.nonCancellable(async () => {
      await cancelRuns(ledger, 'the campaign workflow was cancelled');
      await condition(() => ledger.unsettledCount() === 0, CANCELLED_RUNS_WAIT_MS);
    });
    throw err;
  }
}
