/** Signals, queries and updates of Regatta's workflows: shared by workflows, client and CLI. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  Burndown,
  ChangeOutcomes,
  ChangeRequest,
  RolloutProgress,
  RunReport,
  RunState,
  RunSummary,
  TargetPageRef,
  TrackedChange,
  WaveChange,
} from '../src/contracts';

export interface ApprovalDecision {
  approved: boolean;
  by: string;
  comment?: string;
}

export interface RunApprovalRequest {
  runId: string;
  by: string;
  comment?: string;
}

export interface CampaignProgress {
  campaignId: string;
  total: number;
  admitted: number;
  inFlight: number;
  counts: Partial<Record<RunState, number>>;
  budget: { limitUsd: number; spentUsd: number; reservedUsd: number; leftUsd: number };
  paused: boolean;
  pausedReason?: string;
  stoppedReason?: string;
  publishing: { grantedInWindow: number; max: number; windowMs: number; heldUntil?: string; heldReason?: string };
  continuedAsNew: number;
  /** Where a campaign with a rollout is: its waves, the gate's last figures, who moved it on by hand. */
  rollout?: RolloutProgress;
  /** Change requests opened, merged, reverted; merge rate, time to merge, cost per change: the campaign's and per wave. */
  outcomes?: ChangeOutcomes;
}

export interface WaveDecisionRequest {
  by: string;
  reason?: string;
}

export interface GovernorState {
  host: string;
  max: number;
  windowMs: number;
  grantedInWindow: number;
  waiting: number;
  heldUntil?: string;
}

// Run workflow
export const runStatusQuery = defineQuery<RunSummary>('runStatus');
export const approvalDecidedSignal = defineSignal<[ApprovalDecision]>('approvalDecided');
export const publishPermitGrantedSignal = defineSignal<[]>('publishPermitGranted');
export const retryPublishUpdate = defineUpdate<RunSummary, [{ by: string }]>('retryPublish');

// Campaign workflow
export const campaignProgressQuery = defineQuery<CampaignProgress>('campaignProgress');
export const runReportSignal = defineSignal<[RunReport]>('runReport');
/** A forge asked to slow down: the campaign grants no permits for that host until the time given. */
export const publishHeldSignal = defineSignal<[{ host: string; untilMs: number; reason: string }]>('publishHeld');
export const publishPermitRequestedSignal = defineSignal<[{ runId: string; host: string }]>('publishPermitRequested');
export const pauseCampaignSignal = defineSignal<[{ reason: string }]>('pauseCampaign');
export const resumeCampaignSignal = defineSignal<[]>('resumeCampaign');
export const cancelCampaignUpdate = defineUpdate<CampaignProgress, [{ by: string; reason?: string }]>('cancelCampaign');
export const approveRunUpdate = defineUpdate<RunReport, [RunApprovalRequest]>('approveRun');
export const rejectRunUpdate = defineUpdate<RunReport, [RunApprovalRequest]>('rejectRun');
/** Starts the next wave now, whatever its gate says; recorded with who and why. */
export const advanceWaveUpdate = defineUpdate<RolloutProgress, [WaveDecisionRequest]>('advanceWave');
/** Stops the rollout after the current wave: targets not yet admitted are skipped; recorded with who and why. */
export const abortWaveUpdate = defineUpdate<RolloutProgress, [WaveDecisionRequest]>('abortWave');

// Change tracker workflow
export const burndownQuery = defineQuery<Burndown>('burndown');
/** The change requests a tracker holds, as outcomes measure them: the first page in hand, the rest by reference. */
export interface TrackedChanges {
  changes: WaveChange[];
  pages: TargetPageRef[];
  /** The campaign still runs and hands over what it publishes (its tracker started at its first publish). */
  campaignOpen?: boolean;
}
export const trackedChangesQuery = defineQuery<TrackedChanges>('trackedChanges');
/** A running campaign's newly published change requests (inline, or a stored page of them) and its counts now. */
export interface ChangesPublished {
  changes: TrackedChange[];
  pages?: TargetPageRef[];
  counts: Record<string, number>;
  /** Tracking goes on at least until then (epoch ms): each handover moves the window on. */
  untilMs?: number;
}
export const changesPublishedSignal = defineSignal<[ChangesPublished]>('changesPublished');
/** The campaign has ended: its final counts, what it published last, and when tracking ends. */
export const campaignEndedSignal = defineSignal<[ChangesPublished & { untilMs: number }]>('campaignEnded');

// Publish governor workflow
export const governorPermitRequestedSignal = defineSignal<[{ runId: string }]>('governorPermitRequested');
export const governorHoldSignal = defineSignal<[{ untilMs: number }]>('governorHold');
export const governorPermitGrantedSignal = defineSignal<[]>('governorPermitGranted');
export const governorStateQuery = defineQuery<GovernorState>('governorState');

export type { ChangeRequest, RolloutProgress };
