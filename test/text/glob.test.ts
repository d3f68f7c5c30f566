/** One glob matcher for policy scopes, recipe file lists, the agent's write scope and CODEOWNERS; `*` in commands spans anything. */
import { escapeRegExp, globToRegExp, matchesAny, wildcardSource } from '../../src/text/glob';

describe('path globs', () => {
  it('match the whole path from the root: `*` and `?` within one segment, `**` across segments', () => {
    expect(matchesAny('src/index.ts', ['src/*.ts'])).toBe(true);
    expect(matchesAny('src/a/index.ts', ['src/*.ts'])).toBe(false);
    expect(matchesAny('lib/src/index.ts', ['src/*.ts'])).toBe(false);
    expect(matchesAny('src/a/b/c.ts', ['src/**'])).toBe(true);
    expect(matchesAny('src', ['src/**'])).toBe(false);
    expect(matchesAny('v1.md', ['v?.md'])).toBe(true);
    expect(matchesAny('v/.md', ['v?.md'])).toBe(false);
  });

  it('let `**/` stand for no directory as well as for any number of them', () => {
    expect(matchesAny('README.md', ['**/*.md'])).toBe(true);
    expect(matchesAny('docs/guide/README.md', ['**/*.md'])).toBe(true);
    expect(matchesAny('build/c.js', ['build/**/*.js'])).toBe(true);
    expect(matchesAny('build/a/b/c.js', ['build/**/*.js'])).toBe(true);
  });

  it('treat dotfiles like any other file and every other character literally', () => {
    expect(matchesAny('.github/workflows/ci.yml', ['*/**'])).toBe(true);
    expect(matchesAny('.eslintrc', ['*'])).toBe(true);
    expect(matchesAny('a+b(1).txt', ['a+b(1).txt'])).toBe(true);
    expect(matchesAny('axb', ['a.b'])).toBe(false);
    expect(matchesAny('[x].ts', ['[x].ts'])).toBe(true);
    expect(matchesAny('x.ts', ['[x].ts'])).toBe(false);
  });

  it('give a regex whose source a sandbox program can rebuild (the replace recipe sends it there)', () => {
    expect(globToRegExp('src/**/*.js').source).toBe('^src\\/(?:.*\\/)?[^/]*\\.js$');
    expect(new RegExp(globToRegExp('src/**/*.js').source).test('src/a/b.js')).toBe(true);
  });

  it('match nothing when there are no globs', () => {
    expect(matchesAny('src/a.ts', [])).toBe(false);
  });
});

describe('command wildcards', () => {
  it('let `*` span anything, slashes and spaces included, and escape the rest', () => {
    const pattern = new RegExp(`^${wildcardSource('npm run *')}$`, 's');
    expect(pattern.test('npm run build -- --out dist/x')).toBe(true);
    expect(pattern.test('npm runs build')).toBe(false);
    expect(new RegExp(`^${wildcardSource('node ./a.js')}$`).test('node x/a.js')).toBe(false);
  });

  it('escape every regex character of a literal', () => {
    const literal = '.*+?^${}()|[]\\';
    expect(new RegExp(`^${escapeRegExp(literal)}$`).test(literal)).toBe(true);
  });
});
