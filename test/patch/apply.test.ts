import { fileDiff } from '../../src/git/diff';
import { applyFilePatch, parsePatch, PatchConflict } from '../../src/patch/apply';

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
    expect(() => roundTrip(base, changed, conflicting)).toThrow(PatchConflict);
    expect(() => roundTrip(base, changed, conflicting)).toThrow(/src\/a\.txt: the lines around line 17 changed since the patch was made/);
  });

  it('refuses paths outside the repository or inside .git', () => {
    expect(() => parsePatch('diff --git a/../x b/../x\n')).toThrow(/outside the repository: \.\.\/x/);
    expect(() => parsePatch('diff --git a/.git/config b/.git/config\n')).toThrow(/outside the repository: \.git\/config/);
  });
});
