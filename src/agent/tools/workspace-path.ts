/**
 * Path scope for the agent's file tools: a requested path becomes a workspace-relative path or a refusal.
 * The workspace is data the sandbox may have shaped (symlinks, hard links), so every check is made again on
 * the file actually opened, not only on the name asked for.
 */
import fs from 'node:fs';
import path from 'node:path';
import { matchesAny } from '../../text/glob';

/** Thrown when policy or scope refuses a tool call; it counts as a denial. */
export class ToolDeniedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ToolDeniedError';
  }
}

/** Thrown when an allowed call cannot be done (missing file, ambiguous edit); the agent may correct it. */
export class ToolFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolFailedError';
  }
}

/** Where the sandbox mounts the workspace; the model sees paths under it and may send them back. */
export const CONTAINER_WORKSPACE = '/workspace';

export interface WriteScope {
  allowedPaths: readonly string[];
  forbiddenPaths: readonly string[];
  /** Paths a human approved for this run, writable even where forbiddenPaths would refuse them. */
  approvedPaths?: readonly string[];
}

/** Normalizes a path the model sent into a workspace-relative POSIX path ("." for the root), or refuses it. */
export function workspaceRelative(requested: string): string {
  if (requested.includes('\0')) throw new ToolDeniedError(`path ${JSON.stringify(requested)} contains a NUL byte`);
  let candidate = requested.trim().replace(/\\/g, '/');
  if (candidate === CONTAINER_WORKSPACE || candidate.startsWith(`${CONTAINER_WORKSPACE}/`))
    candidate = candidate.slice(CONTAINER_WORKSPACE.length);
  else if (path.posix.isAbsolute(candidate))
    throw new ToolDeniedError(`path ${JSON.stringify(requested)} is outside the workspace`);
  const normalized = path.posix.normalize(`./${candidate}`).replace(/^\.\//, '').replace(/\/$/, '') || '.';
  if (normalized === '..' || normalized.startsWith('../'))
    throw new ToolDeniedError(`path ${JSON.stringify(requested)} is outside the workspace`);
  refuseGitDirectory(normalized, requested);
  return normalized;
}

function refuseGitDirectory(relative: string, requested: string): void {
  if (relative.split('/').includes('.git'))
    throw new ToolDeniedError(`path ${JSON.stringify(requested)} is inside .git, which the agent may not touch`);
}

/** Refuses a write the policy's path scope does not cover. */
export function checkWritable(relative: string, scope: WriteScope): void {
  if (relative === '.') throw new ToolDeniedError('the workspace root is not a file');
  if (!matchesAny(relative, scope.allowedPaths))
    throw new ToolDeniedError(
      `writing ${relative} is outside the allowed paths (${scope.allowedPaths.join(', ') || 'none'})`,
    );
  if (matchesAny(relative, scope.forbiddenPaths) && !matchesAny(relative, scope.approvedPaths ?? []))
    throw new ToolDeniedError(`writing ${relative} is forbidden by policy (${scope.forbiddenPaths.join(', ')})`);
}

/** The workspace root, resolved once; everything opened must resolve under it. */
export class WorkspaceRoot {
  private constructor(readonly real: string) {}

  static open(dir: string): WorkspaceRoot {
    const real = fs.realpathSync(dir);
    if (!fs.statSync(real).isDirectory()) throw new Error(`workspace ${dir} is not a directory`);
    return new WorkspaceRoot(real);
  }

  absolute(relative: string): string {
    return relative === '.' ? this.real : path.join(this.real, relative);
  }

  /** The workspace-relative path of a resolved host path, or a refusal when it lies outside or inside .git. */
  relativeOfReal(real: string, requested: string): string {
    if (real !== this.real && !real.startsWith(`${this.real}${path.sep}`)) {
      throw new ToolDeniedError(`path ${JSON.stringify(requested)} resolves outside the workspace (through a symlink)`);
    }
    const relative = path.relative(this.real, real).split(path.sep).join('/') || '.';
    refuseGitDirectory(relative, requested);
    return relative;
  }

  /** Resolves an existing path through any symlinks and checks where it lands. */
  resolveExisting(relative: string, requested: string): { real: string; relative: string } {
    const real = fs.realpathSync(this.absolute(relative));
    return { real, relative: this.relativeOfReal(real, requested) };
  }

  /** Where an open descriptor really points, read back from the kernel so a swapped symlink cannot mislead us. */
  relativeOfDescriptor(fd: number, requested: string): string {
    const real = process.platform === 'linux' ? fs.readlinkSync(`/proc/self/fd/${fd}`) : undefined;
    if (real === undefined) throw new Error('path checks on open descriptors need Linux /proc');
    return this.relativeOfReal(real, requested);
  }
}
