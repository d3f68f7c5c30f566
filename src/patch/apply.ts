/**
 * Applies git-style unified diffs in TypeScript, as data: hunks are placed by their context, searching outward
 * from where they were made, so a patch still applies to a base that moved elsewhere in the file.
 */

export interface FilePatch {
  path: string;
  kind: 'add' | 'delete' | 'modify';
  hunks: Hunk[];
}

interface Hunk {
  oldStart: number;
  /** Lines as they must be found (context and removals), and as they become (context and additions). */
  before: string[];
  after: string[];
}

export class PatchConflict extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'PatchConflict';
  }
}

/** Marks a last line without a newline, so it differs from the same text with one (as the diff writer does). */
const NO_EOL = '\u0000';

export function parsePatch(patch: string): FilePatch[] {
  const files: FilePatch[] = [];
  const lines = patch.split('\n');
  let current: FilePatch | undefined;
  let hunk: Hunk | undefined;
  let lastSide: 'before' | 'after' | 'both' = 'both';
  for (const line of lines) {
    if (line.startsWith('diff --git ')) {
      const match = /^diff --git a\/(.+) b\/(.+)$/.exec(line);
      if (!match) throw new Error(`cannot read the file header "${line}"`);
      current = { path: safePath(match[2]), kind: 'modify', hunks: [] };
      files.push(current);
      hunk = undefined;
    } else if (!current) {
      continue;
    } else if (line.startsWith('new file mode')) current.kind = 'add';
    else if (line.startsWith('deleted file mode')) current.kind = 'delete';
    else if (line.startsWith('--- ') || line.startsWith('+++ ')) continue;
    else if (line.startsWith('@@')) {
      const match = /^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@/.exec(line);
      if (!match) throw new Error(`cannot read the hunk header "${line}" of ${current.path}`);
      hunk = { oldStart: Number(match[1]), before: [], after: [] };
      current.hunks.push(hunk);
    } else if (hunk && line.startsWith('\\')) {
      if (lastSide !== 'after') hunk.before[hunk.before.length - 1] += NO_EOL;
      if (lastSide !== 'before') hunk.after[hunk.after.length - 1] += NO_EOL;
    } else if (hunk && (line.startsWith(' ') || line.startsWith('-') || line.startsWith('+'))) {
      const text = line.slice(1);
      if (line[0] !== '+') hunk.before.push(text);
      if (line[0] !== '-') hunk.after.push(text);
      lastSide = line[0] === ' ' ? 'both' : line[0] === '-' ? 'before' : 'after';
    }
  }
  return files;
}

/** A path a patch may touch: relative, inside the tree, never into .git. */
export function safePath(path: string): string {
  const parts = path.split('/');
  if (path.startsWith('/') || parts.some((p) => p === '..' || p === '' || p === '.' || p === '.git')) {
    throw new Error(`the patch names a path outside the repository: ${path}`);
  }
  return path;
}

function toLines(text: string): string[] {
  if (text === '') return [];
  const finalNewline = text.endsWith('\n');
  const lines = (finalNewline ? text.slice(0, -1) : text).split('\n');
  if (!finalNewline) lines[lines.length - 1] += NO_EOL;
  return lines;
}

function fromLines(lines: string[]): string {
  if (lines.length === 0) return '';
  const last = lines[lines.length - 1];
  return last.endsWith(NO_EOL) ? [...lines.slice(0, -1), last.slice(0, -1)].join('\n') : `${lines.join('\n')}\n`;
}

function matchesAt(lines: string[], at: number, expected: string[]): boolean {
  if (at < 0 || at + expected.length > lines.length) return false;
  return expected.every((line, i) => lines[at + i] === line);
}

/** Applies one file's hunks to its current content (undefined when the file does not exist). */
export function applyFilePatch(file: FilePatch, content: string | undefined): string | undefined {
  if (file.kind === 'add' && content !== undefined) throw new PatchConflict(file.path, 'the patch adds a file that already exists');
  if (file.kind !== 'add' && content === undefined) throw new PatchConflict(file.path, 'the patch changes a file that does not exist');
  const lines = toLines(content ?? '');
  let shift = 0;
  for (const hunk of file.hunks) {
    const expected = Math.max(0, hunk.oldStart - 1 + shift);
    const at = findHunk(lines, hunk.before, expected);
    if (at === undefined) throw new PatchConflict(file.path, `the lines around line ${hunk.oldStart} changed since the patch was made`);
    lines.splice(at, hunk.before.length, ...hunk.after);
    shift = at - (hunk.oldStart - 1) + hunk.after.length - hunk.before.length;
  }
  if (file.kind === 'delete') {
    if (lines.length > 0) throw new PatchConflict(file.path, 'the file to delete has content the patch does not know');
    return undefined;
  }
  return fromLines(lines);
}

function findHunk(lines: string[], before: string[], expected: number): number | undefined {
  if (before.length === 0) return Math.min(expected, lines.length);
  for (let distance = 0; distance <= lines.length; distance++) {
    if (matchesAt(lines, expected - distance, before)) return expected - distance;
    if (distance > 0 && matchesAt(lines, expected + distance, before)) return expected + distance;
  }
  return undefined;
}
