/** Talks to the per-host publish governor: signal-with-start, so the first publisher to a host starts it. */
import type { Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import { governorHoldSignal, governorPermitRequestedSignal } from '../../workflows/definitions';
import type { PublishGovernorWorkflow } from '../../workflows/publish-governor';
import { publishGovernorWorkflowId } from '../../src/temporal/ids';

export interface GovernorDeps {
  client: Client;
  taskQueue: string;
  /** Change requests per host per window, across every campaign. */
  max: number;
  windowMs: number;
}

export function createGovernorActivities(deps: GovernorDeps) {
  // `[Args[0]]`, not `Args`: the client's options type resolves only for a tuple of known length.
  const signalGovernor = <Args extends [unknown]>(host: string, signal: SignalDefinition<Args>, signalArgs: Args) =>
    deps.client.workflow.signalWithStart<typeof PublishGovernorWorkflow, [Args[0]]>('PublishGovernorWorkflow', {
      workflowId: publishGovernorWorkflowId(host, deps.taskQueue),
      taskQueue: deps.taskQueue,
      args: [{ host, max: deps.max, windowMs: deps.windowMs }],
      staticSummary: `Publish governor for ${host}`,
      signal,
      signalArgs,
    });
  return {
    /** Queues the run for a permit; the governor grants it by signal. */
    async requestGlobalPublishPermit(input: { host: string; runId: string }): Promise<void> {
      await signalGovernor(input.host, governorPermitRequestedSignal, [{ runId: input.runId }]);
    },
    /** Tells the governor the host asked to slow down, so every campaign holds. */
    async holdGlobalPublishing(input: { host: string; untilMs: number }): Promise<void> {
      await signalGovernor(input.host, governorHoldSignal, [{ untilMs: input.untilMs }]);
    },
  };
}
