/**
 * PublishGovernorWorkflow (`governor/<host>`): one per forge host, shared by every campaign. A token bucket of
 * `max` change requests per `windowMs`, and a hold when the forge asks to slow down; runs ask by signal
 * (signal-with-start) and are granted by signal.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  governorHoldSignal,
  governorPermitGrantedSignal,
  governorPermitRequestedSignal,
  governorStateQuery,
  type GovernorState,
} from './definitions';
import { inWindow, publishWait } from './ledger/publish-gate';

export interface GovernorInput {
  host: string;
  max: number;
  windowMs: number;
  grants?: number[];
  queue?: string[];
  heldUntil?: number;
}

export async function PublishGovernorWorkflow(input: GovernorInput): Promise<void> {
  let grants = input.grants ?? [];
  const queue = input.queue ?? [];
  let heldUntil = input.heldUntil ?? 0;
  const state = (): GovernorState => ({
    host: input.host,
    max: input.max,
    windowMs: input.windowMs,
    grantedInWindow: inWindow(grants, (at) => at, input.windowMs, Date.now()).length,
    waiting: queue.length,
    heldUntil: heldUntil > Date.now() ? new Date(heldUntil).toISOString() : undefined,
  });
  setHandler(governorStateQuery, state);
  setHandler(governorPermitRequestedSignal, ({ runId }) => {
    if (!queue.includes(runId)) queue.push(runId);
  });
  setHandler(governorHoldSignal, ({ untilMs }) => {
    heldUntil = Math.max(heldUntil, untilMs);
  });

  // Idle for a window with nothing queued: the governor ends; the next request starts it again.
  while (await condition(() => queue.length > 0, input.windowMs)) {
    const now = Date.now();
    grants = inWindow(grants, (at) => at, input.windowMs, now);
    // The same gate as a campaign's, for the one host this governor paces.
    const wait = publishWait(grants, input, now, heldUntil);
    if (wait > 0) {
      setCurrentDetails(`holding ${queue.length} publish(es) for ${Math.ceil(wait / 1000)} s`);
      await condition(() => false, wait);
      continue;
    }
    const runId = queue.shift()!;
    grants.push(now);
    // A run that ended meanwhile cannot be signalled; its permit is simply not used.
    await getExternalWorkflowHandle(runId)
      .signal(governorPermitGrantedSignal)
      .catch(() => undefined);
    setCurrentDetails(`${state().grantedInWindow}/${input.max} in the current window, ${queue.length} waiting`);
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof PublishGovernorWorkflow>({ ...input, grants, queue, heldUntil });
    }
  }
}
