/** The clone phase: a few quick retries for a flaky network, then a failure message that names the URL. */
import fs from 'node:fs';
import { shallowClone, type CloneOptions, type ClonedWorkspace } from '../../src/git/workspace';

export const CLONE_RETRY_DELAYS_MS = [500, 2_000] as const;

export type CloneOutcome = { ok: true; workspace: ClonedWorkspace } | { ok: false; message: string };

export async function cloneWithRetries(
  options: CloneOptions,
  delaysMs: readonly number[] = CLONE_RETRY_DELAYS_MS,
  onWait: () => void = () => undefined,
): Promise<CloneOutcome> {
  let lastError: unknown;
  for (let attempt = 0; attempt <= delaysMs.length; attempt++) {
    if (attempt > 0) {
      onWait();
      await new Promise((resolve) => setTimeout(resolve, delaysMs[attempt - 1]));
    }
    // Each try starts from empty directories: a half-written clone is not resumable.
    for (const dir of [options.dir, options.gitdir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
    try {
      return { ok: true, workspace: await shallowClone(options) };
    } catch (err) {
      lastError = err;
      if (isPermanent(err)) break;
    }
  }
  return { ok: false, message: `cannot clone ${options.url} at ${options.ref}: ${describe(lastError)}` };
}

/** The server answered and said no: retrying will not change its mind. */
function isPermanent(err: unknown): boolean {
  const e = err as { code?: string; data?: { statusCode?: number } };
  // No such ref, or a tree the checkout refuses (a `..` or `.git` entry): the same answer every time.
  if (e.code === 'NotFoundError' || e.code === 'UnsafeTreeError') return true;
  const status = e.data?.statusCode;
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; data?: { statusCode?: number; statusMessage?: string } };
  if (e?.data?.statusCode) return `HTTP ${e.data.statusCode} ${e.data.statusMessage ?? ''}`.trim();
  const message = e?.message ?? String(err);
  return e?.code && !message.includes(e.code) ? `${e.code}: ${message}` : message;
}
