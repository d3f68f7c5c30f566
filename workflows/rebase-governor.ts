/**
 * RebaseGovernorWorkflow (`rebase-governor/<queue>/<host>`): one per forge host, shared by every campaign's change
 * tracker, so rebases and re-executions on a host stay within the hourly bound together, as publishing's governor
 * paces publishing. A tracker asks by update (update-with-start, from an activity) and is answered at once: a permit,
 * or how many the host has had in the window and from which campaigns, so the change says why it waits. Grants are
 * the workflow's state, carried across continue-as-new; it ends once idle for a whole window.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineSignal,
  defineUpdate,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';

export interface RebaseGrant {
  at: number;
  campaignId: string;
  repo: string;
}

export interface RebasePermitRequest {
  campaignId: string;
  repo: string;
  /** The bound the asking campaign keeps to: at most `max` on this host, counting every campaign, per `windowMs`. */
  max: number;
  windowMs: number;
}

export interface RebasePermitAnswer {
  granted: boolean;
  /** Rebases on the host inside the asker's window (this one included when granted). */
  inWindow: number;
  /** Those rebases by campaign. */
  byCampaign: Record<string, number>;
  /** When the oldest of them leaves the window (epoch ms), when refused. */
  retryAtMs?: number;
}

export const takeRebasePermitUpdate = defineUpdate<RebasePermitAnswer, [RebasePermitRequest]>('takeRebasePermit');
/** A permit taken for a rebase that turned out not to be needed (the patch still applies) is given back. */
export const returnRebasePermitSignal = defineSignal<[{ campaignId: string; repo: string }]>('returnRebasePermit');

export interface RebaseGovernorInput {
  host: string;
  grants?: RebaseGrant[];
  /** The longest window any asker used: grants are kept, and the governor kept alive, that long. */
  keepMs?: number;
}

export async function RebaseGovernorWorkflow(input: RebaseGovernorInput): Promise<void> {
  let grants = input.grants ?? [];
  let keepMs = input.keepMs ?? 3600_000;
  let touched = false;
  setHandler(takeRebasePermitUpdate, (request) => {
    const now = Date.now();
    keepMs = Math.max(keepMs, request.windowMs);
    grants = grants.filter((g) => now - g.at < keepMs);
    const recent = grants.filter((g) => now - g.at < request.windowMs);
    const granted = recent.length < request.max;
    if (granted) {
      const grant = { at: now, campaignId: request.campaignId, repo: request.repo };
      grants.push(grant);
      recent.push(grant);
    }
    touched = true;
    const byCampaign: Record<string, number> = {};
    for (const g of recent) byCampaign[g.campaignId] = (byCampaign[g.campaignId] ?? 0) + 1;
    setCurrentDetails(`${recent.length} rebase(s) on ${input.host} in the last ${request.windowMs / 60_000} min`);
    return {
      granted,
      inWindow: recent.length,
      byCampaign,
      ...(granted ? {} : { retryAtMs: recent[0].at + request.windowMs }),
    };
  });
  setHandler(returnRebasePermitSignal, ({ campaignId, repo }) => {
    const i = grants.map((g) => g.campaignId === campaignId && g.repo === repo).lastIndexOf(true);
    if (i >= 0) grants.splice(i, 1);
    touched = true;
  });

  // Alive while anything asks within a window; idle for a whole window, no grant it holds still counts.
  for (;;) {
    touched = false;
    const asked = await condition(() => touched || workflowInfo().continueAsNewSuggested, keepMs);
    if (!asked && grants.every((g) => Date.now() - g.at >= keepMs)) {
      await condition(allHandlersFinished);
      return;
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof RebaseGovernorWorkflow>({ ...input, grants, keepMs });
    }
  }
}
