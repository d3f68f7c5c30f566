/**
 * The change lifecycle the ChangeTrackerWorkflow runs on each poll (patch `change-lifecycle`): per change request,
 * bring it onto its moved base (re-apply the patch, or execute the run again where it no longer applies), merge it
 * where policy allows and checks pass, close the change requests it supersedes, and watch a merged one for a revert.
 * Its state is plain data, carried across continue-as-new.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyActivities,
  startChild,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { ChangeRequest, RebaseWhen, RunReport, TaskQueues, TrackedChange } from '../src/contracts';
import { LIFECYCLE_UNAVAILABLE, NON_RETRYABLE_ERROR_TYPES } from '../src/temporal/failure-types';
import { reexecutionWorkflowId, runWorkflowId } from '../src/temporal/ids';
import { CampaignIdKey, RepositoryKey } from '../src/temporal/search-attributes';
import type { LifecycleActivities } from './activity-types';
import { approvalDecidedSignal, publishPermitGrantedSignal, type RunApprovalRequest } from './definitions';
import { RunWorkflow } from './run';

/** Trackers started before the per-host rebase governor replay their own count of rebases per host. */
const REBASE_GOVERNOR_PATCH = 'rebase-governor';

/** What the campaign's spec asks of its change requests after they are opened. */
export interface LifecycleSettings {
  rebaseWhen: RebaseWhen;
  rebaseRate: { max: number; windowMs: number };
  automerge: boolean;
  supersedes: string[];
  revertWatchMs: number;
}

/** One change request's lifecycle. */
export interface ChangeLifecycle {
  /** The run whose patch the branch carries: the campaign's, or the latest re-execution's once it published. */
  runId: string;
  base?: string;
  /** What the last look at the branch found: its head, the head's parent and the campaign that pushed it. */
  known?: { head?: string; headParent?: string; headCampaign?: string };
  /** The base branch's tip at the last look. */
  baseTip?: string;
  /** The base tip the patch was last found to still apply to (`conflicted` mode), so it is not tried again. */
  appliesTo?: string;
  /** The base tip the last revert search read up to. */
  revertCheckedTip?: string;
  rebases: number;
  reexecutions: number;
  /** The re-execution in flight (its workflow id). */
  reexecuting?: string;
  /** The re-execution in flight waits for a human's approval, for this reason (its policy asks for one). */
  awaitingApproval?: string;
  /** Who approved or rejected the latest re-execution, and why. */
  decision?: { approved: boolean; by: string; comment?: string; at: string };
  mergeCommit?: string;
  mergedAt?: string;
  revertedBy?: string;
  revertedAt?: string;
  /** Another campaign pushed this change's branch last (it shares the change key): that campaign looks after it now. */
  supersededBy?: string;
  /** Superseded change keys' change requests in this repository are closed (done once). */
  supersedesHandled?: boolean;
  automergeDenied?: boolean;
  /** The lifecycle stopped (a re-execution that did not publish); the change request is still tracked. */
  stopped?: boolean;
  /** The latest thing the lifecycle did or found (rebased, waiting for the rebase limit, merged, reverted …). */
  note?: string;
  /**
   * What automerge waits for (`checks pending`, `1 of 2 approvals`), apart from the note, so a poll that only waits does
   * not hide the latest event; cleared once merged.
   */
  automerge?: string;
}

export interface LifecycleState {
  changes: Record<string, ChangeLifecycle>;
  /** Rebases and re-executions started per forge host (epoch ms), for the hourly bound (trackers before the governor). */
  rebasesByHost: Record<string, number[]>;
}

/** The lifecycle a campaign's spec asks for; specs recorded before these fields existed get the defaults. */
export function lifecycleSettingsOf(spec: Partial<LifecycleSettings>): LifecycleSettings {
  return {
    rebaseWhen: spec.rebaseWhen ?? 'conflicted',
    rebaseRate: spec.rebaseRate ?? { max: 20, windowMs: 3600_000 },
    automerge: spec.automerge ?? false,
    supersedes: spec.supersedes ?? [],
    revertWatchMs: spec.revertWatchMs ?? 7 * 24 * 3600_000,
  };
}

export function newLifecycleState(): LifecycleState {
  return { changes: {}, rebasesByHost: {} };
}

/** Lifecycle calls give up after a few attempts: one repository's trouble must not hold every other change request. */
function lifecycleActivities(queues: TaskQueues): LifecycleActivities {
  return proxyActivities<LifecycleActivities>({
    taskQueue: queues.control,
    startToCloseTimeout: '5 minutes',
    retry: { maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
  });
}

export class ChangeLifecycleRunner {
  private readonly activities: LifecycleActivities;
  /** Re-executions whose approval is being applied, and what was decided (handlers' state; not carried over). */
  private readonly deciding = new Map<string, string>();
  /** Who waits for a re-execution's next report. */
  private readonly reports = new Map<string, (report: RunReport) => void>();

  constructor(
    private readonly campaignId: string,
    private readonly settings: LifecycleSettings,
    private readonly queues: TaskQueues,
    readonly state: LifecycleState,
  ) {
    this.activities = lifecycleActivities(queues);
  }

  /** Whether anything still needs the tracker: a re-execution in flight, or a merge still inside its revert window. */
  watching(now: number): boolean {
    return Object.values(this.state.changes).some(
      (c) =>
        c.reexecuting || (c.mergedAt && !c.revertedBy && Date.parse(c.mergedAt) + this.settings.revertWatchMs > now),
    );
  }

  /** One poll's worth of lifecycle over the change requests as the forge has them now; `latest` is updated in place. */
  async step(changes: readonly TrackedChange[], latest: Record<string, ChangeRequest | null>): Promise<void> {
    const now = Date.now();
    const looked: { change: TrackedChange; life: ChangeLifecycle; cr: ChangeRequest }[] = [];
    for (const change of changes) {
      const cr = latest[change.repo];
      if (!cr) continue;
      const life = (this.state.changes[change.repo] ??= {
        runId: runWorkflowId(this.campaignId, change.repo),
        rebases: 0,
        reexecutions: 0,
      });
      if (cr.state === 'merged') {
        life.mergeCommit ??= cr.mergeCommit;
        life.mergedAt ??= cr.mergedAt ?? new Date(now).toISOString();
      }
      if (this.managed(life, cr, now) && (await this.learnBase(change, life))) looked.push({ change, life, cr });
    }
    await this.lookAtBranches(looked);
    for (const { change, life, cr } of looked) {
      if (cr.state === 'open') await this.keepAlive(change, life, cr, latest);
    }
  }

  /** A run this tracker started reports: grant its publish permit; once it has published, its patch is the change's. */
  onRunReport(report: RunReport): void {
    const life = Object.values(this.state.changes).find((c) => c.reexecuting === report.runId);
    if (!life) return;
    this.reports.get(report.runId)?.(report);
    if (report.permitHost) this.grantPermit(report.runId);
    life.awaitingApproval = report.state === 'needs_approval' ? (report.failure?.message ?? 'policy') : undefined;
    if (report.state === 'needs_approval')
      life.note = `the re-execution ${report.runId} on the moved base awaits approval (approve or reject it as a run of this campaign)`;
    if (report.state === 'published') {
      Object.assign(life, { runId: report.runId, reexecuting: undefined, known: undefined, appliesTo: undefined });
      const { decision } = life;
      life.note =
        `executed again on the moved base, verified and published (${report.runId})` +
        (decision?.approved ? `, approved by ${decision.by}${decision.comment ? `: ${decision.comment}` : ''}` : '');
    } else if (
      ['failed', 'no_changes', 'policy_denied', 'rejected', 'cancelled', 'changed', 'publish_failed'].includes(
        report.state,
      )
    ) {
      Object.assign(life, { reexecuting: undefined, stopped: true, awaitingApproval: undefined });
      const { decision } = life;
      life.note =
        report.state === 'rejected' && decision && !decision.approved
          ? `the re-execution ${report.runId} on the moved base was rejected by ${decision.by}${decision.comment ? `: ${decision.comment}` : ''}; nothing was pushed`
          : `the re-execution on the moved base ended ${report.state}${report.failure ? `: ${report.failure.message}` : ''}; nothing was pushed`;
    }
  }

  /**
   * The update's validator: only a re-execution of this campaign that awaits approval, and not one already decided.
   * Runs of the campaign itself are decided through the campaign (the client routes by run id).
   */
  assertAwaitingApproval(request: RunApprovalRequest): void {
    const life = Object.values(this.state.changes).find((c) => c.reexecuting === request.runId);
    if (!life) throw new Error(`run ${request.runId} is not a re-execution in flight of campaign ${this.campaignId}`);
    const decided = this.deciding.get(request.runId);
    if (decided) throw new Error(`run ${request.runId} was already ${decided}; the decision is being applied`);
    if (!life.awaitingApproval) throw new Error(`run ${request.runId} is not awaiting approval`);
  }

  /**
   * Approves or rejects a re-execution, as a campaign decides its runs: the decision is signalled to the run, recorded
   * on the change with who and why, and answered with the run's report once the run has acted on it.
   */
  async decide(request: RunApprovalRequest, approved: boolean): Promise<RunReport> {
    const life = Object.values(this.state.changes).find((c) => c.reexecuting === request.runId)!;
    const verb = approved ? 'approved' : 'rejected';
    this.deciding.set(request.runId, `${verb} by ${request.by}`);
    life.decision = {
      approved,
      by: request.by,
      ...(request.comment ? { comment: request.comment } : {}),
      at: new Date().toISOString(),
    };
    life.awaitingApproval = undefined;
    life.note = `the re-execution ${request.runId} was ${verb} by ${request.by}${request.comment ? `: ${request.comment}` : ''}`;
    let after: RunReport | undefined;
    this.reports.set(request.runId, (report) => {
      if (report.state !== 'needs_approval') after ??= report;
    });
    try {
      await getExternalWorkflowHandle(request.runId).signal(approvalDecidedSignal, {
        approved,
        by: request.by,
        comment: request.comment,
      });
      await condition(() => after !== undefined);
      return after!;
    } finally {
      this.reports.delete(request.runId);
      this.deciding.delete(request.runId);
    }
  }

  /** A re-execution that asks the tracker for its publish permit (runs without `permitByReport`) gets it at once. */
  onPermitRequested(request: { runId: string }): void {
    if (Object.values(this.state.changes).some((c) => c.reexecuting === request.runId)) this.grantPermit(request.runId);
  }

  private grantPermit(runId: string): void {
    void getExternalWorkflowHandle(runId)
      .signal(publishPermitGrantedSignal)
      .catch(() => undefined);
  }

  private managed(life: ChangeLifecycle, cr: ChangeRequest, now: number): boolean {
    if (life.supersededBy || life.stopped) return false;
    if (cr.state === 'open') return true;
    return (
      cr.state === 'merged' &&
      !!life.mergeCommit &&
      !life.revertedBy &&
      Date.parse(life.mergedAt!) + this.settings.revertWatchMs > now
    );
  }

  private async learnBase(change: TrackedChange, life: ChangeLifecycle): Promise<boolean> {
    if (life.base) return true;
    try {
      life.base = await this.activities.changeBaseOf({ runId: life.runId });
      return true;
    } catch (err) {
      if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
      life.note = `reading the run failed: ${err.cause?.message ?? err.message}`;
      // A control plane that cannot read runs will not learn to: the change request is only polled from here on.
      if (err.cause instanceof ApplicationFailure && err.cause.type === LIFECYCLE_UNAVAILABLE) life.stopped = true;
      return false;
    }
  }

  /** One batch: where each branch stands; then revert searches for merged changes whose base moved. */
  private async lookAtBranches(looked: { change: TrackedChange; life: ChangeLifecycle; cr: ChangeRequest }[]) {
    if (looked.length === 0) return;
    const states = await this.attempt(undefined, 'inspecting branches', () =>
      this.activities.inspectChangeBranches(
        looked.map(({ change, life }) => ({
          ...change,
          base: life.base!,
          ...(life.known ? { known: life.known } : {}),
        })),
      ),
    );
    if (!states) return;
    const reverts: { life: ChangeLifecycle; change: TrackedChange; baseTip: string }[] = [];
    looked.forEach(({ change, life, cr }, i) => {
      const state = states[i];
      life.known = { head: state.head, headParent: state.headParent, headCampaign: state.headCampaign };
      if (cr.state === 'merged' && state.baseTip !== life.revertCheckedTip)
        reverts.push({ life, change, baseTip: state.baseTip });
      if (cr.state === 'open' && state.headCampaign && state.headCampaign !== this.campaignId) {
        life.supersededBy = `campaign ${state.headCampaign}`;
        life.note = `campaign ${state.headCampaign} published this change key since; it looks after this change request now`;
      }
      life.baseTip = state.baseTip;
    });
    if (reverts.length === 0) return;
    const found = await this.attempt(undefined, 'searching for reverts', () =>
      this.activities.findReverts(
        reverts.map(({ change, life }) => ({
          repo: change.repo,
          url: change.url,
          base: life.base!,
          mergeCommit: life.mergeCommit!,
        })),
      ),
    );
    if (!found) return;
    reverts.forEach(({ life, baseTip }, i) => {
      life.revertCheckedTip = baseTip;
      const revert = found[i];
      if (!revert) return;
      life.revertedBy = revert.commit;
      life.revertedAt = revert.at;
      life.note = `merge ${life.mergeCommit!.slice(0, 12)} reverted by ${revert.commit.slice(0, 12)}`;
    });
  }

  /** An open change request: close what it supersedes, bring it onto a moved base, merge it when it may be. */
  private async keepAlive(
    change: TrackedChange,
    life: ChangeLifecycle,
    cr: ChangeRequest,
    latest: Record<string, ChangeRequest | null>,
  ): Promise<void> {
    if (life.supersededBy) return;
    if (this.settings.supersedes.length && !life.supersedesHandled) {
      const closed = await this.attempt(life, 'closing superseded change requests', () =>
        this.activities.closeSupersededChangeRequests({
          repo: change.repo,
          url: change.url,
          supersedes: this.settings.supersedes,
          successor: { url: cr.url, campaignId: this.campaignId },
        }),
      );
      if (closed) {
        life.supersedesHandled = true;
        if (closed.length)
          life.note = `closed ${closed.map((c) => `#${c.number} (${c.branch})`).join(', ')} as superseded`;
      }
    }
    if (life.reexecuting) return;
    const { baseTip } = life;
    const behind = !!life.known?.head && !!baseTip && life.known.headParent !== baseTip;
    if (behind && this.settings.rebaseWhen !== 'never' && life.appliesTo !== baseTip) {
      await this.rebase(change, life, baseTip!);
      return;
    }
    if (this.settings.automerge && !life.automergeDenied && cr.checks === 'passing') {
      const outcome = await this.attempt(life, 'automerge', () =>
        this.activities.automergeChangeRequest({ repo: change.repo, url: change.url, branch: change.branch }),
      );
      if (outcome?.outcome === 'merged') {
        latest[change.repo] = outcome.changeRequest;
        life.mergeCommit = outcome.changeRequest.mergeCommit;
        life.mergedAt = outcome.changeRequest.mergedAt ?? new Date().toISOString();
        life.note = `merged by automerge (${outcome.changeRequest.mergeCommit?.slice(0, 12) ?? 'merged'})`;
        life.automerge = undefined;
      } else if (outcome?.outcome === 'denied') {
        life.automergeDenied = true;
        life.automerge = undefined;
        life.note = `automerge: ${outcome.reason}`;
      } else if (outcome) life.automerge = `waiting: ${outcome.reason}`;
    } else if (this.settings.automerge && !life.automergeDenied)
      life.automerge = `waiting: checks ${cr.checks ?? 'none'}`;
  }

  /** Re-applies the patch to the moved base, or, where it no longer applies, executes the run again on it. */
  private async rebase(change: TrackedChange, life: ChangeLifecycle, baseTip: string): Promise<void> {
    const host = /^https?:\/\/([^/]+)/.exec(change.url)?.[1] ?? change.url;
    const permit = await this.takeRebasePermit(host, change.repo, life);
    if (!permit) return;
    if (!permit.granted) {
      const { max, windowMs } = this.settings.rebaseRate;
      life.note = `behind its base; waiting for the rebase limit of ${max} per ${windowMs / 60_000} min on ${host}`;
      if (permit.byCampaign)
        life.note += `: ${permit.inWindow} there in the window, across campaigns (${Object.entries(permit.byCampaign)
          .map(([campaign, n]) => `${campaign} ${n}`)
          .join(', ')})`;
      return;
    }
    const outcome = await this.attempt(life, 'rebasing', () =>
      this.activities.rebaseChangeRequest({ runId: life.runId, rebaseWhen: this.settings.rebaseWhen }),
    );
    if (!outcome) return;
    if (outcome.outcome === 'rebased') {
      life.rebases++;
      life.note = `rebased onto ${baseTip.slice(0, 12)}: head ${outcome.head.slice(0, 12)}`;
      return;
    }
    if (outcome.outcome === 'merged') {
      // Merged since the poll that saw it behind (a merge moves the base): the next poll records the merge.
      await this.returnRebasePermit(host, change.repo);
      return;
    }
    if (outcome.outcome === 'applies') {
      await this.returnRebasePermit(host, change.repo);
      life.appliesTo = baseTip;
      life.note = `behind its base; the patch still applies (rebaseWhen conflicted)`;
      return;
    }
    if (outcome.outcome === 'failed') {
      life.note = `rebase failed: ${outcome.message}`;
      life.stopped = true;
      return;
    }
    await this.reexecute(change, life, outcome.message);
  }

  /** A new run of the same request on the moved base: it executes and is verified again before it pushes. */
  private async reexecute(change: TrackedChange, life: ChangeLifecycle, why: string): Promise<void> {
    const runId = reexecutionWorkflowId(this.campaignId, change.repo, life.reexecutions + 1);
    const request = await this.attempt(life, 'preparing the re-execution', () =>
      this.activities.reexecutionRequest({ runId: life.runId, newRunId: runId }),
    );
    if (!request) return;
    life.reexecutions++;
    life.reexecuting = runId;
    life.decision = undefined;
    life.note = `the patch no longer applies to the moved base (${why}); executing again as ${runId}`;
    try {
      await startChild(RunWorkflow, {
        workflowId: runId,
        args: [request],
        taskQueue: this.queues.control,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: CampaignIdKey, value: this.campaignId },
          { key: RepositoryKey, value: change.repo },
        ],
        staticSummary: `${request.title} — ${change.repo}, again on its moved base`,
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      Object.assign(life, { reexecuting: undefined, stopped: true });
      life.note = `could not start the re-execution ${runId}: ${(err as Error).message}`;
    }
  }

  /**
   * The hourly bound per forge host. Trackers started since the rebase governor ask the host's governor, which counts
   * every campaign's rebases there (durably, as publishing's governor does); older ones replay their own count.
   * Undefined when the governor could not be asked (the note says so; the next poll asks again).
   */
  private async takeRebasePermit(
    host: string,
    repo: string,
    life: ChangeLifecycle,
  ): Promise<{ granted: boolean; inWindow?: number; byCampaign?: Record<string, number> } | undefined> {
    const { max, windowMs } = this.settings.rebaseRate;
    if (patched(REBASE_GOVERNOR_PATCH))
      return this.attempt(life, 'asking the rebase governor', () =>
        this.activities.takeRebasePermit({
          host,
          taskQueue: this.queues.control,
          campaignId: this.campaignId,
          repo,
          max,
          windowMs,
        }),
      );
    const now = Date.now();
    const recent = (this.state.rebasesByHost[host] ?? []).filter((t) => t > now - windowMs);
    if (recent.length >= max) return { granted: false };
    this.state.rebasesByHost[host] = [...recent, now];
    return { granted: true };
  }

  private async returnRebasePermit(host: string, repo: string): Promise<void> {
    if (patched(REBASE_GOVERNOR_PATCH))
      await this.attempt(undefined, 'returning a rebase permit', () =>
        this.activities.returnRebasePermit({ host, taskQueue: this.queues.control, campaignId: this.campaignId, repo }),
      );
    else this.state.rebasesByHost[host]?.pop();
  }

  /** An activity that failed after its retries becomes the change's note, and the lifecycle tries again next poll. */
  private async attempt<T>(
    life: ChangeLifecycle | undefined,
    what: string,
    call: () => Promise<T>,
  ): Promise<T | undefined> {
    try {
      return await call();
    } catch (err) {
      if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
      if (life) life.note = `${what} failed: ${err.cause?.message ?? err.message}`;
      return undefined;
    }
  }
}
