/** Workflow ids are idempotency keys: they are spelled here and nowhere else. */
export function campaignWorkflowId(campaignId: string): string {
  return `campaign/${campaignId}`;
}

export function runWorkflowId(campaignId: string, repo: string): string {
  return `run/${campaignId}/${repo}`;
}

export const DEFAULT_TASK_QUEUES = {
  control: 'regatta-control',
  execution: 'regatta-execution',
} as const;

/** The campaign a run belongs to, read back from its workflow id. */
export function campaignIdOfRun(runId: string): string | undefined {
  const match = /^run\/([^/]+)\/[^/]+\/[^/]+$/.exec(runId);
  return match?.[1];
}

/** Temporal appends each firing's nominal time to this id, which makes every firing's campaign id deterministic. */
export function scheduledFiringWorkflowId(scheduleId: string): string {
  return `scheduled/${scheduleId}`;
}

export function changeTrackerWorkflowId(campaignId: string): string {
  return `tracker/${campaignId}`;
}

/** One governor per forge host per control plane (its task queue), so separate deployments never share one. */
export function publishGovernorWorkflowId(host: string, controlQueue: string): string {
  return `governor/${controlQueue}/${host}`;
}
