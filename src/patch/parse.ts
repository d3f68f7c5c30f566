/**
 * Reads git-style unified diffs into data. Hunk bodies are read by the line counts in their headers, so a removed
 * line that reads `-- x` (shown as `--- x`) is content, not a file header.
 */
import { NO_EOL } from '../text/lines';

export interface FilePatch {
  path: string;
  kind: 'add' | 'delete' | 'modify';
  hunks: Hunk[];
}

export interface Hunk {
  oldStart: number;
  /** Lines as they must be found (context and removals), and as they become (context and additions). */
  before: string[];
  after: string[];
}

/** Thrown when a patch cannot be read, or asks what the applier refuses (paths outside the tree, binaries, renames). */
export class PatchRefusedError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'PatchRefusedError';
  }
}

const UNSUPPORTED_HEADERS = [/^rename (from|to) /, /^copy (from|to) /, /^GIT binary patch/, /^Binary files /];

export function parsePatch(patch: string): FilePatch[] {
  const files: FilePatch[] = [];
  const lines = patch.split('\n');
  let i = 0;
  let current: FilePatch | undefined;
  while (i < lines.length) {
    const line = lines[i];
    if (line.startsWith('diff --git ')) {
      current = { path: pathOfHeader(line), kind: 'modify', hunks: [] };
      if (files.some((f) => f.path === current!.path))
        throw new PatchRefusedError(`the patch changes ${current.path} twice`);
      files.push(current);
      i++;
    } else if (!current) {
      i++;
    } else if (line.startsWith('@@')) {
      i = readHunk(lines, i, current);
    } else {
      if (line.startsWith('new file mode')) current.kind = 'add';
      else if (line.startsWith('deleted file mode')) current.kind = 'delete';
      else if (UNSUPPORTED_HEADERS.some((pattern) => pattern.test(line))) {
        throw new PatchRefusedError(
          `${current.path}: the patch carries "${line.slice(0, 60)}", which is not applied as text`,
        );
      }
      i++;
    }
  }
  return files;
}

function pathOfHeader(line: string): string {
  const match = /^diff --git a\/(.+) b\/(.+)$/.exec(line);
  if (!match) throw new PatchRefusedError(`cannot read the file header "${line}"`);
  const [, from, to] = match;
  if (from !== to) throw new PatchRefusedError(`the patch renames ${from} to ${to}; renames are not applied`);
  return safePath(to);
}

/** Reads one hunk starting at its header; returns the index of the first line after it. */
function readHunk(lines: string[], start: number, file: FilePatch): number {
  const header = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(lines[start]);
  if (!header) throw new PatchRefusedError(`cannot read the hunk header "${lines[start]}" of ${file.path}`);
  let oldLeft = header[2] === undefined ? 1 : Number(header[2]);
  let newLeft = header[3] === undefined ? 1 : Number(header[3]);
  const hunk: Hunk = { oldStart: Number(header[1]), before: [], after: [] };
  file.hunks.push(hunk);
  let i = start + 1;
  let lastSide: 'before' | 'after' | 'both' = 'both';
  while (i < lines.length && (oldLeft > 0 || newLeft > 0 || lines[i].startsWith('\\'))) {
    const line = lines[i];
    const mark = line[0];
    if (mark === '\\') {
      if (lastSide !== 'after') hunk.before[hunk.before.length - 1] += NO_EOL;
      if (lastSide !== 'before') hunk.after[hunk.after.length - 1] += NO_EOL;
    } else if (mark === ' ' || mark === '-' || mark === '+' || line === '') {
      // An empty line in a hunk is a context line whose leading space was stripped by an editor or mailer.
      const text = line.slice(1);
      if (mark !== '+') {
        hunk.before.push(text);
        oldLeft--;
      }
      if (mark !== '-') {
        hunk.after.push(text);
        newLeft--;
      }
      lastSide = mark === '-' ? 'before' : mark === '+' ? 'after' : 'both';
    } else {
      break;
    }
    if (oldLeft < 0 || newLeft < 0)
      throw new PatchRefusedError(`${file.path}: a hunk at line ${hunk.oldStart} has more lines than its header says`);
    i++;
  }
  if (oldLeft > 0 || newLeft > 0)
    throw new PatchRefusedError(`${file.path}: a hunk at line ${hunk.oldStart} ends before its header says`);
  return i;
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
