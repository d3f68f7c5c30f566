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
