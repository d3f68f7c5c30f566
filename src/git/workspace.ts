/**
 * Per-run workspaces: a shallow clone with isomorphic-git, and the patch of what a sandbox changed, computed
 * on the host with isomorphic-git (never native git on a tree a sandbox has touched).
 */
import fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { fileDiff } from './diff';

/** One pack-file cache shared by every clone in this process, as isomorphic-git recommends. */
const cache = {};

export const MAX_TEXT_FILE_BYTES = 1024 * 1024;

export interface ClonedWorkspace {
  dir: string;
  commit: string;
}

export async function shallowClone(options: { url: string; ref: string; dir: string }): Promise<ClonedWorkspace> {
  fs.mkdirSync(options.dir, { recursive: true });
  await git.clone({ fs, http, cache, dir: options.dir, url: options.url, ref: options.ref, singleBranch: true, depth: 1, noTags: true });
  const commit = await git.resolveRef({ fs, dir: options.dir, ref: 'HEAD' });
  return { dir: options.dir, commit };
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

/** The unified diff between the clone's commit and its working tree, keeping only changes that are safe to carry. */
export async function computePatch(dir: string): Promise<WorkspacePatch> {
  const root = fs.realpathSync(dir);
  const head = await git.resolveRef({ fs, dir, ref: 'HEAD' });
  const matrix = await git.statusMatrix({ fs, dir, cache });
  const sections: string[] = [];
  const touchedFiles: string[] = [];
  const refused: RefusedChange[] = [];

  for (const [filepath, inHead, inWorkdir] of matrix) {
    if (inWorkdir === 1) continue;
    if (inHead === 0 && inWorkdir === 0) continue;
    const before = inHead ? await headText(dir, head, filepath) : undefined;
    if (inWorkdir === 0) {
      if (before === undefined) refused.push({ path: filepath, reason: 'deleted a binary or oversized file' });
      else {
        sections.push(fileDiff(filepath, before, undefined));
        touchedFiles.push(filepath);
      }
      continue;
    }
    const after = readWorkdirText(root, filepath);
    if ('refused' in after) {
      refused.push({ path: filepath, reason: after.refused });
      continue;
    }
    if (inHead && before === undefined) {
      refused.push({ path: filepath, reason: 'changed a binary or oversized file' });
      continue;
    }
    if (before === after.text) continue;
    sections.push(fileDiff(filepath, before, after.text));
    touchedFiles.push(filepath);
  }
  return { patch: sections.join(''), touchedFiles, refused };
}

async function headText(dir: string, commit: string, filepath: string): Promise<string | undefined> {
  const { blob } = await git.readBlob({ fs, dir, oid: commit, filepath });
  return isCarriableText(blob) ? Buffer.from(blob).toString('utf8') : undefined;
}

/** Reads a changed file as data, refusing anything that is not a regular text file inside the workspace. */
function readWorkdirText(root: string, filepath: string): { text: string } | { refused: string } {
  const full = path.join(root, filepath);
  const stat = fs.lstatSync(full);
  if (stat.isSymbolicLink()) {
    const target = path.resolve(path.dirname(full), fs.readlinkSync(full));
    const inside = target === root || target.startsWith(root + path.sep);
    return { refused: inside ? 'symlinks are not carried in patches' : `symlink pointing outside the workspace (${fs.readlinkSync(full)})` };
  }
  if (!stat.isFile()) return { refused: 'not a regular file' };
  const real = fs.realpathSync(full);
  if (!real.startsWith(root + path.sep)) return { refused: 'resolves outside the workspace' };
  if (stat.size > MAX_TEXT_FILE_BYTES) return { refused: `larger than ${MAX_TEXT_FILE_BYTES} bytes` };
  const bytes = fs.readFileSync(real);
  if (!isCarriableText(bytes)) return { refused: 'binary content' };
  return { text: bytes.toString('utf8') };
}

function isCarriableText(bytes: Uint8Array): boolean {
  return bytes.byteLength <= MAX_TEXT_FILE_BYTES && !bytes.includes(0);
}
