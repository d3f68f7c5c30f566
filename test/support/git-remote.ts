/**
 * What people do to a repository's remote while Regatta watches it, for tests: a colleague moves the base branch, a
 * branch is made by hand, a merge is reverted. Real git over the stack's git server, through isomorphic-git.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';

const COLLEAGUE = { name: 'Colleague', email: 'colleague@acme.invalid' };

/**
 * Commits `files` (new text, or an edit of the old text) on top of `onto` and pushes the commit to `branch` (the same
 * branch by default: the base moves). Returns the new commit.
 */
export async function pushCommit(
  url: string,
  options: {
    onto: string;
    branch?: string;
    files: Record<string, string | ((text: string) => string)>;
    message: string;
  },
): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'push-commit-'));
  try {
    await git.clone({ fs, http, dir, url, ref: options.onto, singleBranch: true, depth: 1 });
    for (const [file, change] of Object.entries(options.files)) {
      const full = path.join(dir, file);
      const before = fs.existsSync(full) ? fs.readFileSync(full, 'utf8') : '';
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, typeof change === 'string' ? change : change(before));
      await git.add({ fs, dir, filepath: file });
    }
    const branch = options.branch ?? options.onto;
    if (branch !== options.onto) await git.branch({ fs, dir, ref: branch, checkout: true });
    const commit = await git.commit({ fs, dir, message: options.message, author: COLLEAGUE });
    await git.push({ fs, http, dir, url, ref: branch, remoteRef: `refs/heads/${branch}` });
    return commit;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The commit a remote branch points at, if the branch exists. */
export async function remoteTip(url: string, branch: string): Promise<string | undefined> {
  const refs = await git.listServerRefs({ http, url, prefix: `refs/heads/${branch}` });
  return refs.find((r) => r.ref === `refs/heads/${branch}`)?.oid;
}

/** The parents and message of a commit on a remote branch's recent history. */
export async function remoteCommit(
  url: string,
  branch: string,
  oid: string,
): Promise<{ parents: string[]; message: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remote-commit-'));
  try {
    await git.clone({ fs, http, dir, url, ref: branch, singleBranch: true, depth: 20, noCheckout: true });
    const { commit } = await git.readCommit({ fs, dir, oid });
    return { parents: commit.parent, message: commit.message };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads a file as it is on a remote branch. */
export async function remoteFile(url: string, branch: string, file: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remote-file-'));
  try {
    await git.clone({ fs, http, dir, url, ref: branch, singleBranch: true, depth: 1 });
    return fs.readFileSync(path.join(dir, file), 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Git's own revert message for `commit`, as `git revert` writes it. */
export function revertMessage(subject: string, commit: string): string {
  return `Revert "${subject}"\n\nThis reverts commit ${commit}.\n`;
}
