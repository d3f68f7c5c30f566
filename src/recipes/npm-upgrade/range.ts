/**
 * package.json version specs, rewritten the way the repository writes them: an exact pin stays exact, `^` and `~`
 * keep their operator and precision, `>=` and x-ranges (`1.x`, `1.2.x`, `1`) keep theirs. Specs with several
 * comparators (`>=1 <3`, `1 || 2`, hyphen ranges) have no single style to keep: `replace` leaves them when they
 * already admit the new version, and otherwise only `pin` applies to them.
 */
import semver from 'semver';

export type RangeStrategy = 'pin' | 'bump' | 'replace';

type Style =
  | { kind: 'any' }
  | { kind: 'exact' }
  | { kind: 'operator'; operator: '^' | '~' | '>='; written: number }
  | { kind: 'x'; written: number; wildcards: string[] };

const OPERATOR_RANGE = /^(\^|~|>=)\s*v?(\d+(?:\.\d+){0,2})(?:-[0-9A-Za-z.-]+)?$/;
const X_RANGE = /^v?(\d+(?:\.\d+){0,1})((?:\.[xX*]){0,2})$/;

export function isExactVersion(text: string): boolean {
  return semver.valid(text.trim().replace(/^=\s*/, '')) !== null;
}

/** The spec package.json gets for `resolved`, or an Error saying why this spec cannot follow the strategy. */
export function nextSpec(current: string, resolved: string, strategy?: RangeStrategy): string | Error {
  const version = semver.parse(resolved);
  if (!version) return new Error(`the version to upgrade to must be exact, got "${resolved}"`);
  if (strategy === 'pin') return version.version;
  const admitted = semver.validRange(current) !== null && semver.satisfies(version, current);
  if (strategy === 'replace' && admitted) return current;
  const style = styleOf(current);
  if (!style)
    return new Error(
      `"${current}" has no single range style to keep (exact, ^, ~, >= or an x-range); set rangeStrategy to pin, or to replace while it admits the new version`,
    );
  if (style.kind === 'any') return current;
  if (style.kind === 'exact') return version.version;
  // A prerelease only means something with all three parts.
  const parts = (written: number) =>
    version.prerelease.length > 0
      ? version.version
      : [version.major, version.minor, version.patch].slice(0, written).join('.');
  if (style.kind === 'x') return [parts(style.written), ...style.wildcards].join('.');
  return `${style.operator}${parts(style.written)}`;
}

function styleOf(spec: string): Style | undefined {
  const text = spec.trim();
  if (text === '' || text === '*' || text === 'x' || text === 'X') return { kind: 'any' };
  if (isExactVersion(text)) return { kind: 'exact' };
  const op = OPERATOR_RANGE.exec(text);
  if (op) return { kind: 'operator', operator: op[1] as '^' | '~' | '>=', written: op[2].split('.').length };
  const x = X_RANGE.exec(text);
  if (x) return { kind: 'x', written: x[1].split('.').length, wildcards: x[2].split('.').slice(1) };
  return undefined;
}
