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
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { PublishRequest as PublishRequestSchema, type PublishOutcome, type PublishRequest } from '../../src/contracts';
import { parseContract } from '../../src/contracts/validate';
import type { ArtifactStore } from '../../src/artifacts/store';
import { changeRequestBody } from '../../src/forges/body';
import { ForgeRateLimited, ForgeRequestError } from '../../src/forges/github';
import type { Forge } from '../../src/forges/types';
import { applyFilePatch, parsePatch, PatchConflict } from '../../src/patch/apply';

export interface PublishDeps {
  artifacts: ArtifactStore;
  forge: Forge;
  author: { name: string; email: string };
  /** Link to a run in the Temporal Web UI, for the change request's body. */
  runUiUrl(runId: string): string;
  /** Test seam: called after the push and before the change request, where a crash would hurt most. */
  afterPush?(request: PublishRequest): Promise<void>;
}

export function createPublishChangeRequest(deps: PublishDeps) {
  return async function publishChangeRequest(input: PublishRequest): Promise<PublishOutcome> {
    const request = parseContract(PublishRequestSchema, input, 'publish request');
    try {
      return await publish(deps, request);
    } catch (err) {
      if (err instanceof ForgeRateLimited) return { ok: false, reason: 'rate_limited', message: err.message, retryAfterMs: err.retryAfterMs };
      if (err instanceof ForgeRequestError && !err.retryable) throw ApplicationFailure.nonRetryable(err.message, 'ForgeRequestError');
      throw err;
    }
  };
}

async function publish(deps: PublishDeps, request: PublishRequest): Promise<PublishOutcome> {
  const repo = { name: request.repo.name, url: request.repo.url };
  const patch = await deps.artifacts.get(request.patch.uri);
  const sha256 = createHash('sha256').update(patch).digest('hex');
  if (sha256 !== request.patch.sha256) {
    return { ok: false, reason: 'missing_evidence', message: `patch artifact ${request.patch.uri} has sha256 ${sha256}, the manifest says ${request.patch.sha256}` };
  }

  const existing = await deps.forge.findChangeRequest(repo, request.branch);
  if (existing?.state === 'closed') {
    return { ok: false, reason: 'closed_unmerged', message: `change request #${existing.number} on ${request.branch} was closed without merging; it is not reopened` };
  }
  if (existing?.state === 'merged') return { ok: true, changeRequest: existing };

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-publish-'));
  try {
    heartbeat('cloning the base');
    await git.clone({ fs, http, dir, url: request.repo.url, ref: request.repo.ref, singleBranch: true, depth: 1, noTags: true });
    const base = await git.resolveRef({ fs, dir, ref: 'HEAD' });
    heartbeat('applying the patch');
    try {
      await applyPatch(dir, patch.toString('utf8'));
    } catch (err) {
      if (err instanceof PatchConflict) return { ok: false, reason: 'conflict', message: `the patch no longer applies to ${request.repo.ref}: ${err.message}` };
      throw err;
    }
    const head = await commitDeterministically(dir, base, request, deps.author);
    heartbeat('pushing');
    const auth = deps.forge.gitAuth?.();
    await git.push({ fs, http, dir, url: request.repo.url, ref: request.branch, remoteRef: `refs/heads/${request.branch}`, force: true, onAuth: auth && (() => auth) });
    await deps.afterPush?.(request);
    heartbeat('opening the change request');
    const changeRequest = await deps.forge.findOrCreateChangeRequest({
      repo,
      branch: request.branch,
      base: request.repo.ref,
      title: request.title,
      body: changeRequestBody(request, deps.runUiUrl(request.runId)),
      autonomy: request.autonomy,
      labels: ['regatta', `campaign:${request.campaignId}`],
      reviewers: codeOwners(dir),
      headCommit: head,
    });
    return { ok: true, changeRequest };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const CODEOWNERS_FILES = ['.github/CODEOWNERS', 'CODEOWNERS', 'docs/CODEOWNERS'];

/** Reviewers from the base's CODEOWNERS (read as data): the users named for every file (`*`). */
function codeOwners(dir: string): string[] {
  const file = CODEOWNERS_FILES.map((f) => path.join(dir, f)).find((f) => fs.existsSync(f) && fs.lstatSync(f).isFile());
  if (!file) return [];
  const owners = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/))
    .filter(([pattern]) => pattern === '*')
    .flatMap(([, ...names]) => names);
  return [...new Set(owners.filter((o) => /^@[A-Za-z0-9-]+$/.test(o)).map((o) => o.slice(1)))];
}

function heartbeat(phase: string): void {
  try {
    Context.current().heartbeat({ phase });
  } catch {
    // Called outside an activity (a script or a unit test): nothing to report to.
  }
}

async function applyPatch(dir: string, patch: string): Promise<void> {
  for (const file of parsePatch(patch)) {
    const full = path.join(dir, file.path);
    const stat = fs.existsSync(full) ? fs.lstatSync(full) : undefined;
    if (stat && !stat.isFile()) throw new PatchConflict(file.path, 'is not a regular file in the base');
    const next = applyFilePatch(file, stat ? fs.readFileSync(full, 'utf8') : undefined);
    if (next === undefined) {
      fs.rmSync(full);
      await git.remove({ fs, dir, filepath: file.path });
    } else {
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, next);
      await git.add({ fs, dir, filepath: file.path });
    }
  }
}

/** Same patch on the same base gives the same commit id, so pushing it again changes nothing. */
async function commitDeterministically(dir: string, base: string, request: PublishRequest, author: { name: string; email: string }): Promise<string> {
  const { commit } = await git.readCommit({ fs, dir, oid: base });
  const when = { timestamp: commit.committer.timestamp + 1, timezoneOffset: 0 };
  await git.branch({ fs, dir, ref: request.branch, checkout: true, force: true });
  return git.commit({
    fs,
    dir,
    ref: request.branch,
    message: `${request.title}\n\nRegatta campaign ${request.campaignId}, run ${request.runId}\nExecution spec ${request.evidence.specHash}\n`,
    author: { ...author, ...when },
    committer: { ...author, ...when },
  });
}
