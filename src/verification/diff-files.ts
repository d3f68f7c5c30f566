/**
 * Reads a git-style unified diff into what the patch audit needs: per file, its old and new path and the lines added
 * and removed with their line numbers. Unlike the applier's parser it accepts renames and binaries: an audit must
 * see every file a patch touches, including the ones publishing would refuse.
 */

export interface DiffLine {
  /** The line number in the new file (an addition) or in the old file (a removal). */
  line: number;
  text: string;
}

export interface DiffFile {
  /** Undefined for an added file. */
  oldPath?: string;
  /** Undefined for a deleted file. */
  newPath?: string;
  added: DiffLine[];
  removed: DiffLine[];
  /** The added and removed lines of each hunk, so a change can be read where it was made. */
  hunks: { added: DiffLine[]; removed: DiffLine[] }[];
}

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

export function readDiffFiles(diff: string): DiffFile[] {
  const files: DiffFile[] = [];
  const lines = diff.split('\n');
  let current: DiffFile | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('diff --git ')) {
      const [oldPath, newPath] = headerPaths(line);
      current = { oldPath, newPath, added: [], removed: [], hunks: [] };
      files.push(current);
    } else if (!current) {
      continue;
    } else if (line.startsWith('new file mode')) {
      current.oldPath = undefined;
    } else if (line.startsWith('deleted file mode')) {
      current.newPath = undefined;
    } else if (line.startsWith('rename from ')) {
      current.oldPath = line.slice('rename from '.length);
    } else if (line.startsWith('rename to ')) {
      current.newPath = line.slice('rename to '.length);
    } else if (line.startsWith('--- ')) {
      current.oldPath = markerPath(line.slice(4), 'a/');
    } else if (line.startsWith('+++ ')) {
      current.newPath = markerPath(line.slice(4), 'b/');
    } else if (HUNK_HEADER.test(line)) {
      i = readHunk(lines, i, current);
    }
  }
  return files;
}

/** Reads one hunk by the counts in its header (a removed `-- x` is content, not a file header); returns its last index. */
function readHunk(lines: string[], start: number, file: DiffFile): number {
  const [, oldStart, oldCount = '1', newStart, newCount = '1'] = HUNK_HEADER.exec(lines[start])!;
  let oldLine = Number(oldStart);
  let newLine = Number(newStart);
  let oldLeft = Number(oldCount);
  let newLeft = Number(newCount);
  const hunk = { added: [] as DiffLine[], removed: [] as DiffLine[] };
  let i = start + 1;
  for (; i < lines.length && (oldLeft > 0 || newLeft > 0); i++) {
    const line = lines[i];
    if (line.startsWith('\\')) continue;
    if (line.startsWith('+')) {
      hunk.added.push({ line: newLine++, text: line.slice(1) });
      newLeft--;
    } else if (line.startsWith('-')) {
      hunk.removed.push({ line: oldLine++, text: line.slice(1) });
      oldLeft--;
    } else {
      oldLine++;
      newLine++;
      oldLeft--;
      newLeft--;
    }
  }
  file.hunks.push(hunk);
  file.added.push(...hunk.added);
  file.removed.push(...hunk.removed);
  // A trailing "\ No newline at end of file" belongs to this hunk.
  return i < lines.length && lines[i].startsWith('\\') ? i : i - 1;
}

function headerPaths(header: string): [string | undefined, string | undefined] {
  const match = /^diff --git a\/(.+) b\/(.+)$/.exec(header);
  return match ? [match[1], match[2]] : [undefined, undefined];
}

function markerPath(text: string, prefix: string): string | undefined {
  const path = text.replace(/\t.*$/, '');
  if (path === '/dev/null') return undefined;
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}
