/** Unified diffs in git's format, computed in TypeScript so the host never runs git on a sandbox's tree. */
import { NO_EOL, toPatchLines } from '../text/lines';

const CONTEXT = 3;

type Op = { kind: ' ' | '-' | '+'; line: string };

/** Line diff by longest common subsequence, with common prefix and suffix trimmed first. */
function diffLines(a: string[], b: string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const ops: Op[] = a.slice(0, start).map((line) => ({ kind: ' ', line }));
  ops.push(...lcsOps(midA, midB));
  ops.push(...a.slice(endA).map((line) => ({ kind: ' ' as const, line })));
  return ops;
}

function lcsOps(a: string[], b: string[]): Op[] {
  if (a.length * b.length > 25_000_000) {
    // Too large to align line by line: replace the changed region whole.
    return [...a.map((line) => ({ kind: '-' as const, line })), ...b.map((line) => ({ kind: '+' as const, line }))];
  }
  const width = b.length + 1;
  const table = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i * width + j] =
        a[i] === b[j]
          ? table[(i + 1) * width + j + 1] + 1
          : Math.max(table[(i + 1) * width + j], table[i * width + j + 1]);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i++] });
      j++;
    } else if (table[(i + 1) * width + j] >= table[i * width + j + 1]) ops.push({ kind: '-', line: a[i++] });
    else ops.push({ kind: '+', line: b[j++] });
  }
  while (i < a.length) ops.push({ kind: '-', line: a[i++] });
  while (j < b.length) ops.push({ kind: '+', line: b[j++] });
  return ops;
}

function hunks(ops: Op[]): string[] {
  const out: string[] = [];
  const changed = ops.map((op, index) => (op.kind === ' ' ? -1 : index)).filter((index) => index >= 0);
  let cursor = 0;
  while (cursor < changed.length) {
    let last = cursor;
    while (last + 1 < changed.length && changed[last + 1] - changed[last] <= CONTEXT * 2) last++;
    const from = Math.max(0, changed[cursor] - CONTEXT);
    const to = Math.min(ops.length, changed[last] + CONTEXT + 1);
    const before = ops.slice(0, from);
    const oldStart = before.filter((op) => op.kind !== '+').length + 1;
    const newStart = before.filter((op) => op.kind !== '-').length + 1;
    const slice = ops.slice(from, to);
    const oldLen = slice.filter((op) => op.kind !== '+').length;
    const newLen = slice.filter((op) => op.kind !== '-').length;
    out.push(`@@ -${oldLen ? oldStart : oldStart - 1},${oldLen} +${newLen ? newStart : newStart - 1},${newLen} @@`);
    for (const op of slice) {
      if (op.line.endsWith(NO_EOL)) out.push(`${op.kind}${op.line.slice(0, -1)}`, '\\ No newline at end of file');
      else out.push(`${op.kind}${op.line}`);
    }
    cursor = last + 1;
  }
  return out;
}

/** One file's section of a git-style unified diff; `undefined` content means the file does not exist on that side. */
export function fileDiff(path: string, before: string | undefined, after: string | undefined): string {
  const a = toPatchLines(before ?? '');
  const b = toPatchLines(after ?? '');
  const header = [`diff --git a/${path} b/${path}`];
  if (before === undefined) header.push('new file mode 100644');
  if (after === undefined) header.push('deleted file mode 100644');
  header.push(
    before === undefined ? '--- /dev/null' : `--- a/${path}`,
    after === undefined ? '+++ /dev/null' : `+++ b/${path}`,
  );
  return [...header, ...hunks(diffLines(a, b))].join('\n') + '\n';
}
