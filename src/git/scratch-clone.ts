/**
 * A throwaway clone of one branch of a remote, made with isomorphic-git in a temporary directory and removed whatever
 * happens: merging, finding a revert and reading a branch's head commit each work in one. Nothing in it is executed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { onAuth } from './branch';

export interface ScratchCloneSpec {
  url: string;
  /** The one branch cloned. */
  ref: string;
  auth?: { username: string; password: string };
  /** Commits read back from the tip; the whole history when absent. */
  depth?: number;
  /** Only the git directory: for reading commits, not files. */
  noCheckout?: boolean;
  /** isomorphic-git's object cache, shared with the caller's later calls on the same clone. */
  cache?: object;
}

/** Clones `spec.ref` into a fresh temporary directory named after `purpose`, runs `use` on it, and removes it. */
export async function withScratchClone<T>(
  purpose: string,
  spec: ScratchCloneSpec,
  use: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `regatta-${purpose}-`));
  try {
    await git.clone({
      fs,
      http,
      dir,
      url: spec.url,
      ref: spec.ref,
      singleBranch: true,
      noTags: true,
      ...(spec.depth !== undefined ? { depth: spec.depth } : {}),
      ...(spec.noCheckout ? { noCheckout: true } : {}),
      onAuth: onAuth(spec.auth),
      ...(spec.cache ? { cache: spec.cache } : {}),
    });
    return await use(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
