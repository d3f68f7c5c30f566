/** Publishing a run's change as a change request, and watching the published changes for the burndown. */
import { z } from 'zod';
import { HttpUrl, RepoCheckout, RepoName, Slug } from './common';
import { PatchAuditResult } from './audit';
import { ArtifactRef, CostReport, ToolchainUse, VerificationReport } from './execution';
import { Autonomy } from './policy';

export const ChangeRequest = z.strictObject({
  provider: z.string().min(1),
  host: z.string().min(1),
  repo: RepoName,
  branch: z.string().min(1),
  number: z.number().int().positive(),
  url: z.string().min(1),
  state: z.enum(['open', 'merged', 'closed']),
  draft: z.boolean(),
  headCommit: z.string().min(1),
  /** The forge's checks on the head commit, where the forge runs any. */
  checks: z.enum(['passing', 'failing', 'pending', 'none']).optional(),
  /** When the forge opened, merged or closed it, where the forge says (the gate's soak time and time to merge). */
  createdAt: z.iso.datetime().optional(),
  mergedAt: z.iso.datetime().optional(),
  closedAt: z.iso.datetime().optional(),
  /** The commit the merge made on the base branch (what a revert names). */
  mergeCommit: z.string().min(1).optional(),
});
export type ChangeRequest = z.infer<typeof ChangeRequest>;
/** When an open change request is brought onto its moved base. */
export const RebaseWhen = z.enum(['conflicted', 'behind-base', 'never']);
export type RebaseWhen = z.infer<typeof RebaseWhen>;

/** A policy bundle's say on merging change requests without a person (a campaign asks with `automerge: true`). */
export const AutomergePolicy = z.strictObject({
  enabled: z.boolean(),
  method: z.enum(['merge', 'squash', 'rebase']).default('merge'),
  /** Approving reviews the change request needs before it is merged. */
  requireApprovals: z.number().int().min(0).default(0),
});
export type AutomergePolicy = z.infer<typeof AutomergePolicy>;

/** What a burndown needs of a change request: a tracker of thousands keeps this much, not the whole record. */
export type ChangeRequestSummary = Pick<ChangeRequest, 'state' | 'checks' | 'url'>;

/** Everything the publishing activity needs, by reference: the patch is read back from the artifact store. */
export const PublishRequest = z.strictObject({
  runId: z.string().min(1),
  campaignId: Slug,
  title: z.string().min(1),
  repo: RepoCheckout,
  branch: z.string().min(1),
  autonomy: Autonomy,
  patch: ArtifactRef,
  evidence: z.strictObject({
    summary: z.string(),
    steps: z.array(z.string()),
    touchedFiles: z.array(z.string()),
    verification: VerificationReport,
    toolchain: z.array(ToolchainUse).optional(),
    cost: CostReport,
    policy: z.strictObject({ name: z.string(), version: z.string(), hash: z.string() }),
    specHash: z.string(),
    artifacts: z.array(ArtifactRef),
    approvedBy: z.string().optional(),
    runUiUrl: z.string().optional(),
    /** The patch audit's findings and the judge's verdict; absent in requests made before the audit existed. */
    audit: PatchAuditResult.optional(),
  }),
  /** Reopen a change request that reviewers closed without merging; otherwise it stays closed (closed_unmerged). */
  reopenClosed: z.boolean().optional(),
});
export type PublishRequest = z.infer<typeof PublishRequest>;

export const PublishOutcome = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), changeRequest: ChangeRequest }),
  z.strictObject({
    ok: z.literal(false),
    /** invalid_patch: the patch names paths outside the tree, renames or binaries; branch_modified: a person committed to the branch. */
    reason: z.enum([
      'conflict',
      'forge_error',
      'missing_evidence',
      'closed_unmerged',
      'rate_limited',
      'invalid_patch',
      'branch_modified',
    ]),
    message: z.string(),
    /** For rate_limited: how long the forge asked us to wait. */
    retryAfterMs: z.number().int().nonnegative().optional(),
  }),
]);
export type PublishOutcome = z.infer<typeof PublishOutcome>;

/** A published change a campaign keeps watching until it is merged or closed. */
export const TrackedChange = z.strictObject({
  repo: RepoName,
  url: HttpUrl,
  branch: z.string().min(1),
  /** The target's owner, for outcomes by owner (changes tracked before it was recorded have none). */
  owner: z.string().min(1).optional(),
});
export type TrackedChange = z.infer<typeof TrackedChange>;

export const Burndown = z.strictObject({
  campaignId: Slug,
  /** Merged, or nothing to change. */
  done: z.number().int().nonnegative(),
  open: z.number().int().nonnegative(),
  /** Open with failing checks (also counted in `open`). */
  checksFailing: z.number().int().nonnegative(),
  /** Not yet settled: executing, awaiting approval, publishing. */
  pending: z.number().int().nonnegative(),
  /** Failed runs, failed publishes, and change requests closed without merging. */
  failed: z.number().int().nonnegative(),
  /**
   * The lifecycle's counts (trackers started before it report none): change requests merged and closed unmerged,
   * merges reverted on the base, rebases pushed, runs executed again on a moved base, change requests superseded.
   */
  merged: z.number().int().nonnegative().optional(),
  closed: z.number().int().nonnegative().optional(),
  reverted: z.number().int().nonnegative().optional(),
  rebased: z.number().int().nonnegative().optional(),
  reexecuted: z.number().int().nonnegative().optional(),
  superseded: z.number().int().nonnegative().optional(),
  /**
   * Change requests in a large campaign's stored pages: counted and polled, but without the lifecycle (no rebase,
   * automerge, supersede or revert watch), because its per-change state would outgrow the tracker's history.
   */
  withoutLifecycle: z.number().int().nonnegative().optional(),
  changes: z.array(
    z.strictObject({
      repo: RepoName,
      state: z.enum(['open', 'merged', 'closed', 'missing']),
      checks: z.string().optional(),
      url: z.string().optional(),
      mergeCommit: z.string().optional(),
      revertedBy: z.string().optional(),
      revertedAt: z.iso.datetime().optional(),
      /** The change request (or campaign) that took this one's place. */
      supersededBy: z.string().optional(),
      rebases: z.number().int().nonnegative().optional(),
      /** What the lifecycle last did or found, in a line (`rebased onto …`, `merged by automerge (…)`). */
      note: z.string().optional(),
      /** What automerge waits for while the change request is open (`waiting: checks pending`), kept apart from the note. */
      automerge: z.string().optional(),
    }),
  ),
  checkedAt: z.iso.datetime().optional(),
});
export type Burndown = z.infer<typeof Burndown>;
