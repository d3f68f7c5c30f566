/**
 * The one glob matcher: policy scopes, recipe file lists, the agent's write scope, generated paths and CODEOWNERS all
 * turn globs into regexes here. Pure (no Node built-ins), because workflow code imports it.
 */

/** Escapes every character a regex gives a meaning to. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A path glob as an unanchored regex source: `**` crosses directories (`**` followed by `/` matches none or any
 * number of them), `*` and `?` stay within one path segment, and nothing is special about dotfiles.
 */
export function globSource(glob: string): string {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += escapeRegExp(c);
  }
  return source;
}

const wholePathGlobs = new Map<string, RegExp>();

/** A glob matching whole paths from the repository root, as policies and recipes write them (`src/**`, `docs/*.md`). */
export function globToRegExp(glob: string): RegExp {
  let re = wholePathGlobs.get(glob);
  if (!re) {
    re = new RegExp(`^${globSource(glob)}$`);
    wholePathGlobs.set(glob, re);
  }
  return re;
}

export function matchesAny(path: string, globs: readonly string[]): boolean {
  return globs.some((glob) => globToRegExp(glob).test(path));
}

/** A command pattern as an unanchored regex source: `*` spans anything, slashes, spaces and quotes included. */
export function wildcardSource(pattern: string): string {
  return pattern.split('*').map(escapeRegExp).join('.*');
}
