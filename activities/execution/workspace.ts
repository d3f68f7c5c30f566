/**
 * One attempt's directory: `<root>/<run id, encoded>/<attempt>/` holding `tree/` (mounted into the sandbox)
 * and `git/` (the clone's git directory, which the sandbox never sees). The attempt may be a key rather than a
 * number: after a Docker engine restart, a sandbox mounting the path a killed sandbox had mounted was measured to
 * see that old, emptied directory, so an attempt never reuses a path an earlier execution of its run used.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface AttemptWorkspace {
  tree: string;
  gitdir: string;
  /** Makes the tree writable by the sandbox user and returns the `uid:gid` the sandbox must run as. */
  handToSandbox(sandboxUser: string): string;
  remove(): void;
}

/** One path segment per run id, reversible and collision-free: `run/camp/acme/billing` → `run%2Fcamp%2Facme%2Fbilling`. */
export function encodeRunId(runId: string): string {
  return encodeURIComponent(runId).replace(/^\./, '%2E');
}

export function createAttemptWorkspace(root: string, runId: string, attempt: number | string): AttemptWorkspace {
  const runDir = path.join(root, encodeRunId(runId));
  const dir = path.join(runDir, String(attempt));
  // A retry of the same attempt number (a worker restarted mid-attempt) starts clean.
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const tree = path.join(dir, 'tree');
  const gitdir = path.join(dir, 'git');
  return {
    tree,
    gitdir,
    handToSandbox: (sandboxUser) => handTreeToSandbox(tree, sandboxUser),
    remove: () => {
      fs.rmSync(dir, { recursive: true, force: true });
      try {
        fs.rmdirSync(runDir);
      } catch {
        // Another attempt of the run still has its directory here.
      }
    },
  };
}

/**
 * A root worker gives the tree to the sandbox's unprivileged user. Any other worker cannot chown, so its
 * sandbox runs as the worker's own (non-root) uid, which already owns the tree.
 */
function handTreeToSandbox(tree: string, sandboxUser: string): string {
  const uid = process.getuid!();
  if (uid !== 0) return `${uid}:${process.getgid!()}`;
  const [sandboxUid, sandboxGid] = sandboxUser.split(':').map(Number);
  const walk = (p: string) => {
    fs.lchownSync(p, sandboxUid, sandboxGid);
    if (fs.lstatSync(p).isDirectory()) for (const entry of fs.readdirSync(p)) walk(path.join(p, entry));
  };
  walk(tree);
  return sandboxUser;
}
