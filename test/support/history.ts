/** Reading what workflows did from their histories on the server. */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** When the server wrote an event down, in epoch ms (0 for an event without a time). */
export function eventMs(event: Pick<HistoryEvent, 'eventTime'>): number {
  const time = event.eventTime;
  return time ? Number(String(time.seconds ?? 0)) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : 0;
}

/**
 * The histories of every execution under `workflowId`: a parent that continued as new, or a governor that sat idle,
 * ended and was started again by the next request, has several. The latest is read even before visibility lists it.
 */
export async function* historiesOf(client: Client, workflowId: string): AsyncGenerator<HistoryEvent[]> {
  const runIds = new Set([(await client.workflow.getHandle(workflowId).describe()).runId]);
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
    runIds.add(execution.runId);
  for (const runId of runIds) yield (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
}

/**
 * When a workflow sent each signal of this name, by receiving workflow id (epoch ms), over every execution under
 * `workflowId`: the start of the workflow task that sent it, which is the workflow's own clock (`Date.now()` in that
 * task), not the later time the server wrote the event down.
 */
export async function signalsSent(
  client: Client,
  workflowId: string,
  signalName: string,
): Promise<Record<string, number>> {
  const sent: Record<string, number> = {};
  for await (const events of historiesOf(client, workflowId)) {
    let taskStarted: number | undefined;
    for (const event of events) {
      if (event.workflowTaskStartedEventAttributes && event.eventTime) taskStarted = eventMs(event);
      const signal = event.signalExternalWorkflowExecutionInitiatedEventAttributes;
      if (signal?.signalName !== signalName || !signal.workflowExecution?.workflowId || taskStarted === undefined)
        continue;
      sent[signal.workflowExecution.workflowId] = taskStarted;
    }
  }
  return sent;
}
