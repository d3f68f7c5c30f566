/** Version comparison for desired-state checks; pure, so workflows classify survey results themselves. */

/** The lowest version a declared range or installed version admits: "^1.4.2" → [1, 4, 2], "2.x" → [2, 0, 0]. */
export function lowestVersion(spec: string): [number, number, number] | undefined {
  const match = /(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?/.exec(spec);
  if (!match) return undefined;
  const part = (p: string | undefined) => (p === undefined || p === 'x' || p === '*' ? 0 : Number(p));
  return [Number(match[1]), part(match[2]), part(match[3])];
}

export function atLeast(version: readonly number[], minimum: readonly number[]): boolean {
  for (let i = 0; i < 3; i++) {
    const a = version[i] ?? 0;
    const b = minimum[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** Installed version wins over the declared range, since the lockfile says what actually runs. */
export function satisfiesAtLeast(entry: { declared?: string; installed?: string }, minimum: string): boolean {
  const current = lowestVersion(entry.installed ?? entry.declared ?? '');
  const wanted = lowestVersion(minimum);
  return current !== undefined && wanted !== undefined && atLeast(current, wanted);
}
