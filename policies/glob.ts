/** Glob matching for paths and commands; pure, so workflows and the evaluator share it. */

const cache = new Map<string, RegExp>();

/** `**` crosses directories, `*` and `?` stay within one path segment (for commands: within the line). */
export function globToRegExp(glob: string): RegExp {
  let re = cache.get(glob);
  if (re) return re;
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  re = new RegExp(`^${source}$`);
  cache.set(glob, re);
  return re;
}

export function matchesAny(value: string, globs: readonly string[]): boolean {
  return globs.some((glob) => globToRegExp(glob).test(value));
}

const SUBSTITUTION = /\$\(|`|<\(|>\(/;

/**
 * A command is allowed when every part of it (split at `;`, `&&`, `||`, `|` and newlines) matches a pattern,
 * where `*` spans anything; command substitution is never allowed, since it would hide a command inside another.
 */
export function commandAllowed(command: string, allowlist: readonly string[]): boolean {
  if (SUBSTITUTION.test(command)) return false;
  const parts = command.split(/&&|\|\||[;|\n]/).map((part) => part.trim().replace(/\s+/g, ' ')).filter(Boolean);
  return parts.length > 0 && parts.every((part) => allowlist.some((pattern) => commandPattern(pattern).test(part)));
}

function commandPattern(pattern: string): RegExp {
  const source = pattern
    .trim()
    .split('*')
    .map((piece) => piece.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's');
}
