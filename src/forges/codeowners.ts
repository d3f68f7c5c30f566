/**
 * Reviewers from a CODEOWNERS file, read as data: for each changed file the last matching rule wins, as on GitHub.
 * Owners are `user` or `org/team` (the leading @ dropped); e-mail owners are left out.
 */
import { globSource } from '../text/glob';

export const CODEOWNERS_LOCATIONS = ['.github/CODEOWNERS', 'CODEOWNERS', 'docs/CODEOWNERS'];

interface Rule {
  matches: RegExp;
  owners: string[];
}

export function parseCodeOwners(text: string): Rule[] {
  const rules: Rule[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    const [pattern, ...owners] = line.split(/\s+/);
    const matches = patternToRegExp(pattern);
    if (matches)
      rules.push({
        matches,
        owners: owners.filter((o) => /^@[A-Za-z0-9-]+(\/[A-Za-z0-9_.-]+)?$/.test(o)).map((o) => o.slice(1)),
      });
  }
  return rules;
}

/** The owners of the changed files, in first-seen order; a file whose last matching rule names nobody has no owner. */
export function codeOwnersFor(text: string, files: string[]): string[] {
  const rules = parseCodeOwners(text);
  const owners = new Set<string>();
  for (const file of files) {
    const rule = rules.filter((r) => r.matches.test(file)).at(-1);
    for (const owner of rule?.owners ?? []) owners.add(owner);
  }
  return [...owners];
}

/**
 * gitignore-style: `/x` and `a/b` are anchored at the root, `x` matches at any depth, `dir/` everything under it.
 * The glob itself reads as everywhere else (src/text/glob.ts); only where it applies is CODEOWNERS' own.
 */
function patternToRegExp(pattern: string): RegExp | undefined {
  if (pattern.startsWith('!') || pattern.includes('[')) return undefined;
  const directoryOnly = pattern.endsWith('/');
  const trimmed = pattern.replace(/^\//, '').replace(/\/$/, '');
  if (!trimmed) return /^/;
  const anchored = pattern.startsWith('/') || trimmed.includes('/');
  // `docs/*` owns the files directly in docs/, not those deeper; a plain name owns everything under it.
  const wildcardLeaf = /\*[^/]*$/.test(trimmed) && !trimmed.endsWith('**');
  const under = directoryOnly ? '/.*' : wildcardLeaf ? '' : '(?:/.*)?';
  return new RegExp(`${anchored ? '^' : '^(?:.*/)?'}${globSource(trimmed)}${under}$`);
}
