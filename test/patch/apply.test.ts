import { fileDiff } from '../../src/git/diff';
import { applyFilePatch, parsePatch, PatchConflictError, PatchRefusedError } from '../../src/patch/apply';

const base = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

function roundTrip(before: string | undefined, after: string | undefined, target = before): string | undefined {
  const [file] = parsePatch(fileDiff('src/a.txt', before, after));
  return applyFilePatch(file, target);
}

describe('patch application', () => {
  it('applies what the diff writer produced: changes, additions, deletions, missing final newlines', () => {
    const changed = base.replace('line 5\n', 'line five\n').replace('line 25\n', 'line 25\nline 25b\n');
    expect(roundTrip(base, changed)).toBe(changed);
    expect(roundTrip(undefined, 'new\nfile\n')).toBe('new\nfile\n');
    expect(roundTrip('gone\n', undefined)).toBeUndefined();
    expect(roundTrip('a\nb', 'a\nc')).toBe('a\nc');
    expect(roundTrip('a\nb\n', 'a\nb')).toBe('a\nb');
    expect(roundTrip('a\nb', 'a\nb\n')).toBe('a\nb\n');
  });

  it('rebases onto a base that moved elsewhere in the file', () => {
    const changed = base.replace('line 20\n', 'line twenty\n');
    const moved = 'header 1\nheader 2\nheader 3\n' + base;
    expect(roundTrip(base, changed, moved)).toBe('header 1\nheader 2\nheader 3\n' + changed);
  });

  it('reports a conflict when the lines it changes were changed too', () => {
    const changed = base.replace('line 20\n', 'line twenty\n');
    const conflicting = base.replace('line 20\n', 'line XX\n');
    expect(() => roundTrip(base, changed, conflicting)).toThrow(PatchConflictError);
    expect(() => roundTrip(base, changed, conflicting)).toThrow(
      /src\/a\.txt: the lines around line 17 changed since the patch was made/,
    );
  });

  it('refuses paths outside the repository or inside .git', () => {
    expect(() => parsePatch('diff --git a/../x b/../x\n')).toThrow(/outside the repository: \.\.\/x/);
    expect(() => parsePatch('diff --git a/.git/config b/.git/config\n')).toThrow(
      /outside the repository: \.git\/config/,
    );
    expect(() => parsePatch('diff --git a//etc/passwd b//etc/passwd\n')).toThrow(PatchRefusedError);
    expect(() => parsePatch('diff --git a/src/.GIT/hooks/x b/src/.GIT/hooks/x\n')).toThrow(/outside the repository/);
    expect(() => parsePatch('diff --git a/src/a/../../x b/src/a/../../x\n')).toThrow(/outside the repository/);
  });

  it('reads removed and added lines that look like file headers as content', () => {
    const before = 'select 1;\n-- a comment\n++ not a header\nselect 2;\n';
    const after = 'select 1;\n+++ a new header-looking line\nselect 2;\n--- and another\n';
    const patch = fileDiff('db/query.sql', before, after);
    expect(patch).toContain('\n--- a comment\n');
    const [file] = parsePatch(patch);
    expect(applyFilePatch(file, before)).toBe(after);
  });

  it('applies several hunks in order, each found near where the previous one landed', () => {
    const changed = base.replace('line 3\n', 'line three\n').replace('line 27\n', 'line twenty-seven\n');
    const moved = base.replace('line 15\n', 'line 15\nextra a\nextra b\n');
    expect(roundTrip(base, changed, moved)).toBe(
      moved.replace('line 3\n', 'line three\n').replace('line 27\n', 'line twenty-seven\n'),
    );
  });

  it('refuses renames, binary patches, a file changed twice and hunks shorter than their header', () => {
    expect(() => parsePatch('diff --git a/x b/y\nsimilarity index 100%\nrename from x\nrename to y\n')).toThrow(
      /renames x to y/,
    );
    expect(() =>
      parsePatch('diff --git a/logo.png b/logo.png\nBinary files a/logo.png and b/logo.png differ\n'),
    ).toThrow(/not applied as text/);
    const twice = fileDiff('a.txt', 'a\n', 'b\n') + fileDiff('a.txt', 'b\n', 'c\n');
    expect(() => parsePatch(twice)).toThrow(/changes a.txt twice/);
    expect(() => parsePatch('diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n-a\n+b\n')).toThrow(
      /ends before its header says/,
    );
  });

  it('a deletion conflicts when the file gained content, an addition when the file already exists', () => {
    const [deletion] = parsePatch(fileDiff('gone.txt', 'old\n', undefined));
    expect(() => applyFilePatch(deletion, 'old\nnew line from a colleague\n')).toThrow(PatchConflictError);
    const [addition] = parsePatch(fileDiff('new.txt', undefined, 'hello\n'));
    expect(() => applyFilePatch(addition, 'someone else made it\n')).toThrow(/adds a file that already exists/);
  });
});
