/**
 * Applies git-style unified diffs in TypeScript, as data: hunks are placed by their context, searching outward
 * from where they were made, so a patch still applies to a base that moved elsewhere in the file.
 */
import { fromPatchLines, toPatchLines } from '../text/lines';
import type { FilePatch } from './parse';

export { parsePatch, PatchRefusedError, safePath, type FilePatch, type Hunk } from './parse';

/** Thrown when a patch no longer applies to the base: its lines changed, or a path it names is not a plain file there. */
export class PatchConflictError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'PatchConflictError';
  }
}

function matchesAt(lines: string[], at: number, expected: string[]): boolean {
  if (at < 0 || at + expected.length > lines.length) return false;
  return expected.every((line, i) => lines[at + i] === line);
}

/** Applies one file's hunks to its current content (undefined when the file does not exist). */
export function applyFilePatch(file: FilePatch, content: string | undefined): string | undefined {
  if (file.kind === 'add' && content !== undefined)
    throw new PatchConflictError(file.path, 'the patch adds a file that already exists');
  if (file.kind !== 'add' && content === undefined)
    throw new PatchConflictError(file.path, 'the patch changes a file that does not exist');
  const lines = toPatchLines(content ?? '');
  let shift = 0;
  // Hunks apply in order: a later hunk is never placed over or before what an earlier one wrote.
  let earliest = 0;
  for (const hunk of file.hunks) {
    const expected = Math.max(earliest, hunk.oldStart - 1 + shift);
    const at = findHunk(lines, hunk.before, expected, earliest);
    if (at === undefined)
      throw new PatchConflictError(
        file.path,
        `the lines around line ${hunk.oldStart} changed since the patch was made`,
      );
    lines.splice(at, hunk.before.length, ...hunk.after);
    shift = at - (hunk.oldStart - 1) + hunk.after.length - hunk.before.length;
    earliest = at + hunk.after.length;
  }
  if (file.kind === 'delete') {
    if (lines.length > 0)
      throw new PatchConflictError(file.path, 'the file to delete has content the patch does not know');
    return undefined;
  }
  return fromPatchLines(lines);
}

/** The closest place to `expected`, at or after `earliest`, where the hunk's old lines are found. */
function findHunk(lines: string[], before: string[], expected: number, earliest: number): number | undefined {
  if (before.length === 0) return Math.min(expected, lines.length);
  for (let distance = 0; distance <= Math.max(lines.length, expected); distance++) {
    if (expected - distance >= earliest && matchesAt(lines, expected - distance, before)) return expected - distance;
    if (distance > 0 && matchesAt(lines, expected + distance, before)) return expected + distance;
  }
  return undefined;
}
