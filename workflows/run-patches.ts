/**
 * RunWorkflow's patches, and the folds that take them without a marker.
 *
 * Every `patched()` records a marker, and the SDK upserts the `TemporalChangeVersion` search attribute with each new
 * one: two events and a visibility write per patch, in every run. A fold is a named set of patches that a run takes
 * as applied, with no marker, when its request names the fold (`RunRequest.foldedPatches`). Only code running today
 * names one (a campaign, behind the fold's own patch, and the change tracker's re-execution), so a run recorded
 * before the fold has none in its recorded input and replays each patch by its marker, as it was recorded.
 */
import { patched } from '@temporalio/workflow';
import { RUN_PATCH_FOLD } from '../src/temporal/run-patch-fold';

/** Each patch's comment, at its check, says what a run recorded before it replays. */
export const RUN_PATCHES = {
  engineWait: 'docker-engine-wait',
  commandParser: 'command-policy-parser',
  scopeApprovalReexecutes: 'scope-approval-reexecutes',
  localPolicyDecision: 'local-policy-decision',
  quietFirstExecution: 'quiet-first-execution',
  patchAudit: 'patch-audit',
  verificationBaseline: 'verification-baseline',
  sandboxTime: 'run-sandbox-time',
} as const;
export type RunPatch = (typeof RUN_PATCHES)[keyof typeof RUN_PATCHES];

/** A fold's name to the patches it holds. A name this code does not know folds nothing. */
const FOLDS: ReadonlyMap<string, ReadonlySet<RunPatch>> = new Map([
  [RUN_PATCH_FOLD, new Set<RunPatch>(Object.values(RUN_PATCHES))],
]);

/** The patch checks of one run: folded patches are applied without a marker; any other is `patched()`, as before. */
export class RunPatches {
  private readonly folded: ReadonlySet<RunPatch>;

  constructor(fold: string | undefined) {
    this.folded = (fold !== undefined && FOLDS.get(fold)) || new Set();
  }

  has(patch: RunPatch): boolean {
    return this.folded.has(patch) || patched(patch);
  }
}
