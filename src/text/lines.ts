/** The one line splitter, and the lines diffs and patches are made of. Pure (no Node built-ins), so workflows may use it. */

/** The lines of text written on any platform: `\n` and `\r\n` both end a line; a final newline leaves a last `''`. */
export function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

/** Marks a last line without a newline, so it differs from the same text with one (git's "No newline at end of file"). */
export const NO_EOL = '\u0000';

/** A file's lines as a diff compares them: no empty line after a final newline; a last line without one ends in NO_EOL. */
export function toPatchLines(text: string): string[] {
  if (text === '') return [];
  const finalNewline = text.endsWith('\n');
  const lines = (finalNewline ? text.slice(0, -1) : text).split('\n');
  if (!finalNewline) lines[lines.length - 1] += NO_EOL;
  return lines;
}

/** The text toPatchLines read the lines from. */
export function fromPatchLines(lines: readonly string[]): string {
  if (lines.length === 0) return '';
  const last = lines[lines.length - 1];
  return last.endsWith(NO_EOL) ? [...lines.slice(0, -1), last.slice(0, -1)].join('\n') : `${lines.join('\n')}\n`;
}
