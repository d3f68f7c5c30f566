/**
 * Reads git-style unified diffs into data, for the two readers Regatta has: the applier (`parsePatch`, strict: it
 * refuses what it cannot apply as text, such as renames, binaries and paths outside the tree) and the patch audit
 * (`readDiff`, lenient: it must see every file a patch touches, including the ones publishing would refuse). One
 * reader serves both. Hunk bodies are read by the line counts in their headers, so a removed line that reads `-- x`
 * (shown as `--- x`) is content, not a file header.
 */
import { NO_EOL } from '../text/lines';

/** One added or removed line, with its number in the new file (an addition) or in the old file (a removal). */
export interface DiffLine {
  line: number;
  text: string;
}

export interface Hunk {
  oldStart: number;
  /** Lines as they must be found (context and removals), and as they become (context and additions). */
  before: string[];
  after: string[];
}

export interface DiffHunk extends Hunk {
  newStart: number;
  added: DiffLine[];
  removed: DiffLine[];
}

export interface DiffFile {
  /** Undefined for an added file. */
  oldPath?: string;
  /** Undefined for a deleted file. */
  newPath?: string;
  hunks: DiffHunk[];
  /** Every hunk's added and removed lines, in order. */
  added: DiffLine[];
  removed: DiffLine[];
}

export interface FilePatch {
  path: string;
  kind: 'add' | 'delete' | 'modify';
  hunks: Hunk[];
}

/** Thrown when a patch cannot be read, or asks what the applier refuses (paths outside the tree, binaries, renames). */
export class PatchRefusedError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'PatchRefusedError';
  }
}

const UNSUPPORTED_HEADERS = [/^rename (from|to) /, /^copy (from|to) /, /^GIT binary patch/, /^Binary files /];
const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** The applier's reading: one file per path, each a plain text change inside the tree, or a PatchRefusedError. */
export function parsePatch(patch: string): FilePatch[] {
  return readDiff(patch, { strict: true }).map((file) => ({
    path: (file.newPath ?? file.oldPath)!,
    kind: file.oldPath === undefined ? 'add' : file.newPath === undefined ? 'delete' : 'modify',
    hunks: file.hunks,
  }));
}

/**
 * Reads every file of a diff. `strict` refuses, as soon as it reads them, headers the applier cannot honour and hunks
 * whose bodies disagree with their headers; otherwise renames and binaries are read for their paths, and a malformed
 * hunk is read as far as it goes.
 */
export function readDiff(patch: string, { strict = false }: { strict?: boolean } = {}): DiffFile[] {
  const files: DiffFile[] = [];
  const lines = patch.split('\n');
  let current: DiffFile | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('diff --git ')) {
      const [oldPath, newPath] = strict ? strictHeaderPaths(line, files) : headerPaths(line);
      current = { oldPath, newPath, hunks: [], added: [], removed: [] };
      files.push(current);
    } else if (!current) {
      continue;
    } else if (line.startsWith('@@')) {
      i = readHunk(lines, i, current, strict) - 1;
    } else if (strict && UNSUPPORTED_HEADERS.some((pattern) => pattern.test(line))) {
      throw new PatchRefusedError(
        `${current.newPath}: the patch carries "${line.slice(0, 60)}", which is not applied as text`,
      );
    } else {
      readFileHeader(line, current, strict);
    }
  }
  return files;
}

/**
 * The extended header lines that say what happened to the file's paths. The applier's paths come from the checked
 * `diff --git` line alone: a `---`/`+++` marker naming another path must not slip past that check.
 */
function readFileHeader(line: string, file: DiffFile, strict: boolean): void {
  if (line.startsWith('new file mode')) file.oldPath = undefined;
  else if (line.startsWith('deleted file mode')) file.newPath = undefined;
  else if (strict) return;
  else if (line.startsWith('rename from ')) file.oldPath = line.slice('rename from '.length);
  else if (line.startsWith('rename to ')) file.newPath = line.slice('rename to '.length);
  else if (line.startsWith('--- ')) file.oldPath = markerPath(line.slice(4), 'a/');
  else if (line.startsWith('+++ ')) file.newPath = markerPath(line.slice(4), 'b/');
}

/** Reads one hunk starting at its header; returns the index of the first line after it. */
function readHunk(lines: string[], start: number, file: DiffFile, strict: boolean): number {
  const path = file.newPath ?? file.oldPath;
  const header = HUNK_HEADER.exec(lines[start]);
  if (!header) {
    if (strict) throw new PatchRefusedError(`cannot read the hunk header "${lines[start]}" of ${path}`);
    return start + 1;
  }
  const [, oldStart, oldCount = '1', newStart, newCount = '1'] = header;
  let oldLeft = Number(oldCount);
  let newLeft = Number(newCount);
  let oldLine = Number(oldStart);
  let newLine = Number(newStart);
  const hunk: DiffHunk = {
    oldStart: Number(oldStart),
    newStart: Number(newStart),
    before: [],
    after: [],
    added: [],
    removed: [],
  };
  let i = start + 1;
  let lastSide: 'before' | 'after' | 'both' = 'both';
  while (i < lines.length && (oldLeft > 0 || newLeft > 0 || lines[i].startsWith('\\'))) {
    const line = lines[i];
    const mark = line[0];
    if (mark === '\\') {
      if (lastSide !== 'after' && hunk.before.length) hunk.before[hunk.before.length - 1] += NO_EOL;
      if (lastSide !== 'before' && hunk.after.length) hunk.after[hunk.after.length - 1] += NO_EOL;
    } else if (mark === ' ' || mark === '-' || mark === '+' || line === '') {
      // An empty line in a hunk is a context line whose leading space was stripped by an editor or mailer.
      const text = line.slice(1);
      if (mark !== '+') {
        hunk.before.push(text);
        if (mark === '-') hunk.removed.push({ line: oldLine, text });
        oldLine++;
        oldLeft--;
      }
      if (mark !== '-') {
        hunk.after.push(text);
        if (mark === '+') hunk.added.push({ line: newLine, text });
        newLine++;
        newLeft--;
      }
      lastSide = mark === '-' ? 'before' : mark === '+' ? 'after' : 'both';
    } else {
      break;
    }
    if (strict && (oldLeft < 0 || newLeft < 0))
      throw new PatchRefusedError(`${path}: a hunk at line ${hunk.oldStart} has more lines than its header says`);
    i++;
  }
  if (strict && (oldLeft > 0 || newLeft > 0))
    throw new PatchRefusedError(`${path}: a hunk at line ${hunk.oldStart} ends before its header says`);
  file.hunks.push(hunk);
  file.added.push(...hunk.added);
  file.removed.push(...hunk.removed);
  return i;
}

function headerPaths(header: string): [string | undefined, string | undefined] {
  const match = /^diff --git a\/(.+) b\/(.+)$/.exec(header);
  return match ? [match[1], match[2]] : [undefined, undefined];
}

/** The applier's header: one path, inside the tree, not seen before in this patch. */
function strictHeaderPaths(header: string, seen: readonly DiffFile[]): [string, string] {
  const match = /^diff --git a\/(.+) b\/(.+)$/.exec(header);
  if (!match) throw new PatchRefusedError(`cannot read the file header "${header}"`);
  const [, from, to] = match;
  if (from !== to) throw new PatchRefusedError(`the patch renames ${from} to ${to}; renames are not applied`);
  const path = safePath(to);
  if (seen.some((f) => (f.newPath ?? f.oldPath) === path))
    throw new PatchRefusedError(`the patch changes ${path} twice`);
  return [path, path];
}

function markerPath(text: string, prefix: string): string | undefined {
  const path = text.replace(/\t.*$/, '');
  if (path === '/dev/null') return undefined;
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

/** A path a patch may touch: relative, inside the tree, never into .git. */
export function safePath(path: string): string {
  const parts = path.split('/');
  if (
    path.startsWith('/') ||
    path.includes('\\') ||
    parts.some((p) => p === '..' || p === '' || p === '.' || p.toLowerCase() === '.git')
  ) {
    throw new PatchRefusedError(`the patch names a path outside the repository: ${path}`);
  }
  return path;
}
