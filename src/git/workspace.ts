/**
 * Per-run workspaces: a shallow clone through the host's git cache (src/git/cached-clone.ts, pure TypeScript),
 * and the patch of what a sandbox changed, computed on the host with isomorphic-git (never native git on a tree
 * a sandbox has touched).
 *
 * The git directory lives beside the working tree, not in it: only the tree is mounted into the sandbox, so
 * repository code can neither rewrite history, refs and index the patch is computed against, nor plant
 * git configuration for anyone who later opens the tree.
 */
import fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import { loadConfig } from '../config';
import { cloneThroughCache, type CloneStep } from './cached-clone';
import { fileDiff } from './diff';
import { MirrorCache } from './mirror-cache';

/** One pack-file cache shared by every clone in this process, as isomorphic-git recommends. */
const sharedCache = {};

export const MAX_TEXT_FILE_BYTES = 1024 * 1024;

/** Names git would quote in a diff header; the patch format here writes names as they are. */
const UNCARRIABLE_NAME = /[\u0000-\u001f\u007f"\\]/;

export interface WorkspaceDirs {
  /** The working tree: the only part a sandbox sees. */
  dir: string;
  /** The git directory, outside the working tree; defaults to `<dir>/.git` for ordinary clones. */
  gitdir?: string;
}

export interface ClonedWorkspace {
  dir: string;
  gitdir: string;
  /** The commit the working tree was checked out at: the base every patch is computed against. */
  commit: string;
  /** Objects downloaded for this clone: 0 when the host's git cache already held the commit. */
  objectsFetched: number;
}

export interface CloneOptions extends WorkspaceDirs {
  url: string;
  ref: string;
  /** The host's cache of repository mirrors; `<REGATTA_HOME>/git-cache` bounded by gitCacheBytes when absent. */
  gitCache?: { dir: string; maxBytes: number };
  /** Told as each step of the clone ends, for profiling. */
  onStep?: (step: CloneStep) => void;
}

export async function shallowClone(options: CloneOptions): Promise<ClonedWorkspace> {
  const gitdir = options.gitdir ?? path.join(options.dir, '.git');
  const { dir: cacheDir, maxBytes } = options.gitCache ?? defaultGitCache();
  const { commit, objectsFetched } = await cloneThroughCache({
    url: options.url,
    ref: options.ref,
    dir: options.dir,
    gitdir,
    cache: new MirrorCache(cacheDir, maxBytes),
    onStep: options.onStep,
  });
  return { dir: options.dir, gitdir, commit, objectsFetched };
}

function defaultGitCache(): { dir: string; maxBytes: number } {
  const config = loadConfig();
  return { dir: path.join(config.home, 'git-cache'), maxBytes: config.gitCacheBytes };
}

export interface RefusedChange {
  path: string;
  reason: string;
}

export interface WorkspacePatch {
  patch: string;
  touchedFiles: string[];
  refused: RefusedChange[];
}

export interface PatchOptions {
  gitdir?: string;
  /** The commit to diff against; HEAD of `gitdir` when absent. */
  base?: string;
  maxFileBytes?: number;
  cache?: object;
}

/**
 * The unified diff between the base commit and the working tree, keeping only changes that are safe to
 * carry: regular text files inside the tree. Symlinks, special files, binary and oversized files are
 * refused and reported. Call it only after the sandbox has stopped, so nothing changes while it reads.
 */
export async function computePatch(dir: string, options: PatchOptions = {}): Promise<WorkspacePatch> {
  const root = fs.realpathSync(dir);
  const gitdir = options.gitdir ?? path.join(dir, '.git');
  const maxBytes = options.maxFileBytes ?? MAX_TEXT_FILE_BYTES;
  const base = options.base ?? (await git.resolveRef({ fs, gitdir, ref: 'HEAD' }));
  const refused: RefusedChange[] = [];
  const oversized = new Set<string>();
  // isomorphic-git hashes a changed tracked file whole; keep files too big to carry away from it.
  const filter = (filepath: string) => {
    const stat = lstatOrUndefined(path.join(root, filepath));
    if (stat?.isFile() && stat.size > maxBytes) oversized.add(filepath);
    return !oversized.has(filepath);
  };
  const matrix = await git.statusMatrix({
    fs,
    dir: root,
    gitdir,
    ref: base,
    filter,
    cache: options.cache ?? sharedCache,
  });
  for (const filepath of [...oversized].sort()) {
    const tracked = await blobAt(gitdir, base, filepath, options.cache);
    const ignored = !tracked && (await git.isIgnored({ fs, dir: root, gitdir, filepath }));
    if (!ignored) refused.push({ path: filepath, reason: `larger than ${maxBytes} bytes` });
  }

  const sections: string[] = [];
  const touchedFiles: string[] = [];
  for (const [filepath, inHead, inWorkdir] of matrix) {
    if (inWorkdir === 1 || (inHead === 0 && inWorkdir === 0)) continue;
    if (UNCARRIABLE_NAME.test(filepath)) {
      refused.push({
        path: JSON.stringify(filepath),
        reason: 'a file name with control characters, quotes or backslashes',
      });
      continue;
    }
    const before = inHead ? await headText(gitdir, base, filepath, maxBytes, options.cache) : undefined;
    if (inHead && before === undefined) {
      refused.push({ path: filepath, reason: `${inWorkdir === 0 ? 'deleted' : 'changed'} a binary or oversized file` });
      continue;
    }
    let after: string | undefined;
    // isomorphic-git reports a file replaced by a FIFO or socket as deleted; it was not.
    const replacedBySpecial = inWorkdir === 0 && lstatOrUndefined(path.join(root, filepath))?.isDirectory() === false;
    if (inWorkdir !== 0 || replacedBySpecial) {
      const read = readWorkdirText(root, filepath, maxBytes);
      if ('refused' in read) {
        refused.push({ path: filepath, reason: read.refused });
        continue;
      }
      after = read.text;
    }
    if (before === after) continue;
    sections.push(fileDiff(filepath, before, after));
    touchedFiles.push(filepath);
  }
  return { patch: sections.join(''), touchedFiles, refused };
}

function lstatOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch {
    return undefined;
  }
}

async function blobAt(
  gitdir: string,
  commit: string,
  filepath: string,
  cache?: object,
): Promise<Uint8Array | undefined> {
  try {
    return (await git.readBlob({ fs, gitdir, oid: commit, filepath, cache: cache ?? sharedCache })).blob;
  } catch {
    return undefined;
  }
}

async function headText(
  gitdir: string,
  commit: string,
  filepath: string,
  maxBytes: number,
  cache?: object,
): Promise<string | undefined> {
  const blob = await blobAt(gitdir, commit, filepath, cache);
  return blob && isCarriableText(blob, maxBytes) ? Buffer.from(blob).toString('utf8') : undefined;
}

/** Reads a changed file as data, refusing anything that is not a regular text file inside the workspace. */
function readWorkdirText(root: string, filepath: string, maxBytes: number): { text: string } | { refused: string } {
  const full = path.resolve(root, filepath);
  if (!full.startsWith(root + path.sep)) return { refused: 'outside the workspace' };
  const stat = fs.lstatSync(full);
  if (stat.isSymbolicLink()) {
    const link = fs.readlinkSync(full);
    const target = path.resolve(path.dirname(full), link);
    const inside = target === root || target.startsWith(root + path.sep);
    return {
      refused: inside
        ? `symlink (to ${link}): symlinks are not carried in patches`
        : `symlink pointing outside the workspace (to ${link})`,
    };
  }
  if (!stat.isFile()) return { refused: 'not a regular file' };
  if (fs.realpathSync(full) !== full)
    return { refused: 'reached through a symlinked directory, outside the workspace' };
  if (stat.size > maxBytes) return { refused: `larger than ${maxBytes} bytes` };
  // O_NOFOLLOW: what was checked above is what is read, even if the path was swapped for a symlink since.
  const fd = fs.openSync(full, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const bytes = fs.readFileSync(fd);
    if (!isCarriableText(bytes, maxBytes)) return { refused: 'binary content' };
    return { text: bytes.toString('utf8') };
  } finally {
    fs.closeSync(fd);
  }
}

/** Text is what a unified diff can carry: no NUL bytes, valid UTF-8, within the size limit. */
function isCarriableText(bytes: Uint8Array, maxBytes: number): boolean {
  if (bytes.byteLength > maxBytes || bytes.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}
