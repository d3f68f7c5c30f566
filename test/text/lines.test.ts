/** One line splitter, and the lines a diff is written in and a patch applied to. */
import { fromPatchLines, NO_EOL, splitLines, toPatchLines } from '../../src/text/lines';

describe('splitLines', () => {
  it('ends a line at \\n or \\r\\n, and leaves an empty last line after a final newline', () => {
    expect(splitLines('a\r\nb\nc\n')).toEqual(['a', 'b', 'c', '']);
    expect(splitLines('')).toEqual(['']);
  });

  it('keeps a carriage return that ends no line', () => {
    expect(splitLines('a\rb')).toEqual(['a\rb']);
  });
});

describe('patch lines', () => {
  it('drop the empty line after a final newline, and mark a last line that has none', () => {
    expect(toPatchLines('a\nb\n')).toEqual(['a', 'b']);
    expect(toPatchLines('a\nb')).toEqual(['a', `b${NO_EOL}`]);
    expect(toPatchLines('')).toEqual([]);
  });

  it('keep carriage returns as content, so a CRLF file differs from its LF twin', () => {
    expect(toPatchLines('a\r\nb\r\n')).toEqual(['a\r', 'b\r']);
  });

  it('give back exactly the text they were read from', () => {
    for (const text of ['', '\n', 'a', 'a\n', 'a\n\nb', 'a\r\nb\r\n', '\n\n'])
      expect(fromPatchLines(toPatchLines(text))).toBe(text);
  });
});
