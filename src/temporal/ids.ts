/** Workflow ids (idempotency keys), change branches and Web UI links: spelled here and nowhere else (workflow-safe). */
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

/** The `n`th run of a repository's change executed again on its moved base, tracked by the campaign's tracker. */
export function reexecutionWorkflowId(campaignId: string, repo: string, n: number): string {
  return `${runWorkflowId(campaignId, repo)}~reexecution-${n}`;
}

/** Whether a run is one a change tracker started again on a moved base (it is decided through the tracker). */
export function isReexecutionWorkflowId(runId: string): boolean {
  return /~reexecution-\d+$/.test(runId);
}

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

/** One rebase governor per forge host per control plane, shared by every campaign's change tracker. */
export function rebaseGovernorWorkflowId(host: string, controlQueue: string): string {
  return `rebase-governor/${controlQueue}/${host}`;
}

/** Every change branch starts with this, so a forge can tell Regatta's change requests from people's. */
export const CHANGE_BRANCH_PREFIX = 'regatta/';

/** The branch, and so the change request, of one change: campaigns that share a changeKey share it. */
export function changeBranch(changeKey: string): string {
  return `${CHANGE_BRANCH_PREFIX}${changeKey}`;
}

/** A workflow's page in the Temporal Web UI (its latest run), or one run's history when a Temporal run id is given. */
export function workflowUiUrl(uiBase: string, namespace: string, workflowId: string, temporalRunId?: string): string {
  const page = `${uiBase}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return temporalRunId ? `${page}/${encodeURIComponent(temporalRunId)}/history` : page;
}
