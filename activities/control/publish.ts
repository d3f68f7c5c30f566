/**
 * publishChangeRequest (control plane, never in a sandbox): a fresh clone of the base, the patch artifact checked
 * against its hash and applied as data, a deterministic commit pushed to `regatta/<changeKey>`, then
 * find-or-create the change request. Every step is idempotent, so a retry after any crash ends in one branch
 * and one change request.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { Errors as GitErrors } from 'isomorphic-git';
import {
  PublishRequest as PublishRequestSchema,
  type ChangeRequest,
  type PublishOutcome,
  type PublishRequest,
} from '../../src/contracts';
import { parseContract } from '../../src/contracts/validate';
import type { ArtifactStore } from '../../src/artifacts/store';
import { changeRequestBody } from '../../src/forges/body';
import { CODEOWNERS_LOCATIONS, codeOwnersFor } from '../../src/forges/codeowners';
import { ForgeRateLimitedError, ForgeRequestError } from '../../src/forges/errors';
import type { Forge, RepoRef } from '../../src/forges/types';
import {
  applyToClone,
  cloneBase,
  commitOnBase,
  readFirstRegularFile,
  REGATTA_TRAILER,
  type BranchSpec,
} from '../../src/git/branch';
import { BranchModifiedError, pushBranch } from '../../src/git/push';
import { parsePatch, PatchConflictError, PatchRefusedError, type FilePatch } from '../../src/patch/apply';

export interface PublishDeps {
  artifacts: ArtifactStore;
  forge: Forge;
  author: { name: string; email: string };
  /** Link to a run in the Temporal Web UI, for the change request's body. */
  runUiUrl(runId: string): string;
  /** Test seam: called after the push and before the change request, where a crash would hurt most. */
  afterPush?(request: PublishRequest): Promise<void>;
}

type Failed = Extract<PublishOutcome, { ok: false }>;

/** Publishing says it is alive this often; its heartbeat timeout is a few of these. */
const PUBLISH_HEARTBEAT_MS = 5_000;

/** Heartbeats when called as an activity; tests that call publishing directly have no activity context. */
function beat(): void {
  try {
    Context.current().heartbeat();
  } catch {
    // Not in an activity.
  }
}

export function createPublishChangeRequest(deps: PublishDeps) {
  return async function publishChangeRequest(input: PublishRequest): Promise<PublishOutcome> {
    const request = parseContract(PublishRequestSchema, input, 'publish request');
    const heartbeat = setInterval(beat, PUBLISH_HEARTBEAT_MS);
    try {
      return await publish(deps, request);
    } catch (err) {
      if (err instanceof ForgeRateLimitedError)
        return { ok: false, reason: 'rate_limited', message: err.message, retryAfterMs: err.retryAfterMs };
      if (err instanceof ForgeRequestError && !err.retryable)
        throw ApplicationFailure.nonRetryable(err.message, 'ForgeRequestError');
      throw permanentGitFailure(err, request) ?? err;
    } finally {
      clearInterval(heartbeat);
    }
  };
}

async function publish(deps: PublishDeps, request: PublishRequest): Promise<PublishOutcome> {
  const repo: RepoRef = { name: request.repo.name, url: request.repo.url };
  const checked = await readPatch(deps.artifacts, request);
  if (!Array.isArray(checked)) return checked;

  const existing = await deps.forge.findChangeRequest(repo, request.branch);
  if (existing?.state === 'merged') return { ok: true, changeRequest: existing };
  if (existing?.state === 'closed' && !request.reopenClosed) {
    return {
      ok: false,
      reason: 'closed_unmerged',
      message: `change request #${existing.number} on ${request.branch} was closed without merging; it is not reopened unless asked`,
    };
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-publish-'));
  try {
    const spec = branchSpec(deps, request);
    heartbeat('cloning the base');
    const base = await cloneBase(dir, spec);
    const codeOwners = readFirstRegularFile(dir, CODEOWNERS_LOCATIONS);
    heartbeat('applying the patch');
    await applyToClone(dir, checked);
    const head = await commitOnBase(dir, base, spec);
    heartbeat('pushing');
    const pushed = await pushBranch(dir, base, head, spec);
    await deps.afterPush?.(request);
    heartbeat('opening the change request');
    if (existing?.state === 'closed') await deps.forge.reopenChangeRequest(repo, existing.number);
    const changeRequest = await deps.forge.findOrCreateChangeRequest({
      repo,
      branch: request.branch,
      base: request.repo.ref,
      title: request.title,
      body: changeRequestBody(request, deps.runUiUrl(request.runId)),
      autonomy: request.autonomy,
      labels: ['regatta', `campaign:${request.campaignId}`],
      reviewers: codeOwners
        ? codeOwnersFor(
            codeOwners,
            checked.map((f) => f.path),
          )
        : [],
      headCommit: pushed.head,
    });
    return { ok: true, changeRequest: withHead(changeRequest, pushed.head) };
  } catch (err) {
    const failed = publishFailure(err, request);
    if (failed) return failed;
    throw err;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The patch, read back and checked against the hash the execution plane recorded, then parsed; or why not. */
export async function readPatch(artifacts: ArtifactStore, request: PublishRequest): Promise<FilePatch[] | Failed> {
  const patch = await artifacts.get(request.patch.uri);
  const sha256 = createHash('sha256').update(patch).digest('hex');
  if (sha256 !== request.patch.sha256) {
    return {
      ok: false,
      reason: 'missing_evidence',
      message: `patch artifact ${request.patch.uri} has sha256 ${sha256}, the manifest says ${request.patch.sha256}`,
    };
  }
  try {
    return parsePatch(patch.toString('utf8'));
  } catch (err) {
    if (err instanceof PatchRefusedError)
      return { ok: false, reason: 'invalid_patch', message: `patch artifact ${request.patch.uri}: ${err.message}` };
    throw err;
  }
}

function branchSpec(deps: PublishDeps, request: PublishRequest): BranchSpec {
  return {
    url: request.repo.url,
    base: request.repo.ref,
    branch: request.branch,
    author: deps.author,
    auth: deps.forge.gitAuth?.(),
    message: [
      request.title,
      '',
      `Regatta campaign ${request.campaignId}, run ${request.runId}.`,
      '',
      `${REGATTA_TRAILER} ${request.campaignId}`,
      `Regatta-Run: ${request.runId}`,
      `Regatta-Spec: ${request.evidence.specHash}`,
      '',
    ].join('\n'),
  };
}

function publishFailure(err: unknown, request: PublishRequest): Failed | undefined {
  if (err instanceof PatchConflictError)
    return {
      ok: false,
      reason: 'conflict',
      message: `the patch no longer applies to ${request.repo.ref}: ${err.message}`,
    };
  if (err instanceof BranchModifiedError) return { ok: false, reason: 'branch_modified', message: err.message };
  return undefined;
}

/** Git answers that no retry changes (bad credentials, no such repository, a rejected push) fail the attempt at once. */
function permanentGitFailure(err: unknown, request: PublishRequest): ApplicationFailure | undefined {
  const where = `${request.repo.url} (${request.branch} from ${request.repo.ref})`;
  if (err instanceof GitErrors.HttpError && [401, 403, 404].includes(err.data.statusCode)) {
    return ApplicationFailure.nonRetryable(
      `git over HTTP to ${new URL(request.repo.url).host} answered ${err.data.statusCode} ${err.data.statusMessage} for ${where}; check the forge token`,
      'ForgeRequestError',
    );
  }
  if (err instanceof GitErrors.PushRejectedError)
    return ApplicationFailure.nonRetryable(
      `the remote refused the push of ${where}: ${err.message}`,
      'ForgeRequestError',
    );
  return undefined;
}

/** For activities that only read the forge: a request to slow down becomes the retry delay, so polling resumes when the forge said. */
export async function readingForge<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof ForgeRateLimitedError)
      throw ApplicationFailure.create({
        message: err.message,
        type: 'ForgeRateLimitedError',
        nextRetryDelay: err.retryAfterMs,
      });
    if (err instanceof ForgeRequestError && !err.retryable)
      throw ApplicationFailure.nonRetryable(err.message, 'ForgeRequestError');
    throw err;
  }
}

/** A forge that reads its head lazily (GitHub right after a push) may report the previous one; the pushed head is the truth. */
function withHead(changeRequest: ChangeRequest, head: string): ChangeRequest {
  return changeRequest.headCommit === head ? changeRequest : { ...changeRequest, headCommit: head };
}

function heartbeat(phase: string): void {
  try {
    Context.current().heartbeat({ phase });
  } catch {
    // Called outside an activity (a script or a unit test): nothing to report to.
  }
}
