/**
 * Sends a Workflow Update until it lands, under one update id.
 *
 * The server drops an update it has not accepted yet when the workflow task carrying it fails: the handler ran, but
 * the task could not complete (e.g. the handler ends the workflow while a signal or timer arrives in the same task,
 * and a workflow cannot end on an event it has not seen). Nothing reaches history, and the caller gets
 * FAILED_PRECONDITION "… unexpected workflow task failure". Sending it again under the same update id is safe: an
 * update the server accepted after all answers with its outcome instead of running a second time.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  isGrpcServiceError,
  ServiceError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type WorkflowHandle,
  type WorkflowUpdateOptions,
} from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';

const FIRST_RESEND_DELAY_MS = 500;
const MAX_RESEND_DELAY_MS = 5_000;
const RESEND_FOR_MS = 120_000;

/** gRPC status codes (numbers of the wire protocol) an update may fail with before the server accepted it. */
const GRPC = { DEADLINE_EXCEEDED: 4, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, UNAVAILABLE: 14 } as const;

/**
 * True when an update failed before the server accepted it, so that it never ran: its workflow task failed, the server
 * was unavailable or overloaded, or the call timed out. Other failed preconditions (updates disabled, the update limit
 * reached) and the update's own failure are not.
 */
export function droppedBeforeAcceptance(err: unknown): boolean {
  const rpcTimeout = err instanceof WorkflowUpdateRPCTimeoutOrCancelledError;
  if (!(err instanceof ServiceError) && !rpcTimeout) return false;
  const grpc = err.cause;
  if (!isGrpcServiceError(grpc)) return false;
  switch (grpc.code) {
    case GRPC.DEADLINE_EXCEEDED:
    case GRPC.UNAVAILABLE:
    case GRPC.RESOURCE_EXHAUSTED:
      return true;
    case GRPC.FAILED_PRECONDITION:
      return /workflow task failure/i.test(`${grpc.details} ${grpc.message}`);
    default:
      return false;
  }
}

/**
 * `handle.executeUpdate` under one update id, sent again while the server dropped it before acceptance: backoff from
 * 0.5 s doubling up to 5 s, for up to 2 minutes, then the last error is thrown. Any other error is thrown at once.
 */
export async function executeUpdateOnce<Ret, Args extends [unknown, ...unknown[]], Name extends string = string>(
  handle: Pick<WorkflowHandle, 'executeUpdate'>,
  update: UpdateDefinition<Ret, Args, Name>,
  options: Omit<WorkflowUpdateOptions, 'updateId'> & { args: Args },
): Promise<Ret> {
  const updateId = randomUUID();
  const giveUpAt = Date.now() + RESEND_FOR_MS;
  for (let delay = FIRST_RESEND_DELAY_MS; ; delay = Math.min(delay * 2, MAX_RESEND_DELAY_MS)) {
    try {
      return await handle.executeUpdate(update, { ...options, updateId });
    } catch (err) {
      if (!droppedBeforeAcceptance(err) || Date.now() + delay > giveUpAt) throw err;
    }
    await sleep(delay);
  }
}
