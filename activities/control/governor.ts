/** Talks to the per-host publish governor: signal-with-start, so the first publisher to a host starts it. */
import type { Client } from '@temporalio/client';
import { governorHoldSignal, governorPermitRequestedSignal, type GovernorInput } from '../../workflows/publish-governor';
import { publishGovernorWorkflowId } from '../../src/temporal/ids';

export interface GovernorDeps {
  client: Client;
  taskQueue: string;
  /** Change requests per host per window, across every campaign. */
  max: number;
  windowMs: number;
}

export function createGovernorActivities(deps: GovernorDeps) {
  const start = (host: string) => ({
    workflowId: publishGovernorWorkflowId(host, deps.taskQueue),
    taskQueue: deps.taskQueue,
    args: [{ host, max: deps.max, windowMs: deps.windowMs }] as [GovernorInput],
    staticSummary: `Publish governor for ${host}`,
  });
  return {
    /** Queues the run for a permit; the governor grants it by signal. */
    async requestGlobalPublishPermit(input: { host: string; runId: string }): Promise<void> {
      await deps.client.workflow.signalWithStart('PublishGovernorWorkflow', { ...start(input.host), signal: governorPermitRequestedSignal, signalArgs: [{ runId: input.runId }] });
    },
    /** Tells the governor the host asked to slow down, so every campaign holds. */
    async holdGlobalPublishing(input: { host: string; untilMs: number }): Promise<void> {
      await deps.client.workflow.signalWithStart('PublishGovernorWorkflow', { ...start(input.host), signal: governorHoldSignal, signalArgs: [{ untilMs: input.untilMs }] });
    },
  };
}
