/** Reading what workflows did from their histories on the server. */
import type { Client } from '@temporalio/client';

/**
 * When a workflow sent each signal of this name, by receiving workflow id (epoch ms), from the histories of every
 * execution under `workflowId` (a governor that sat idle ends, and the next request starts it again): the start of
 * the workflow task that sent it, which is the workflow's own clock (`Date.now()` in that task), not the later time
 * the server wrote the event down.
 */
export async function signalsSent(
  client: Client,
  workflowId: string,
  signalName: string,
): Promise<Record<string, number>> {
  const runIds = new Set([(await client.workflow.getHandle(workflowId).describe()).runId]);
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
    runIds.add(execution.runId);
  const sent: Record<string, number> = {};
  for (const runId of runIds) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    let taskStarted: number | undefined;
    for (const event of history.events ?? []) {
      if (event.workflowTaskStartedEventAttributes && event.eventTime)
        taskStarted = Number(String(event.eventTime.seconds)) * 1000 + Math.floor((event.eventTime.nanos ?? 0) / 1e6);
      const signal = event.signalExternalWorkflowExecutionInitiatedEventAttributes;
      if (signal?.signalName !== signalName || !signal.workflowExecution?.workflowId || taskStarted === undefined)
        continue;
      sent[signal.workflowExecution.workflowId] = taskStarted;
    }
  }
  return sent;
}
