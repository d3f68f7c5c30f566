/**
 * Python requirement specifiers (PEP 508/440) in requirements files and pyproject.toml, read and moved to a new
 * version as text: only the version in the matching requirement changes, so comments, markers, extras, order and
 * the file's formatting stay the repository's, and so does the specifier style (== stays ==, >= and ~= are kept).
 */

/** PEP 503: names compare lowercased, with runs of -, _ and . as one -. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

const REQUIREMENT = /^(\s*)([A-Za-z0-9][A-Za-z0-9._-]*)(\s*\[[^\]]*\])?(\s*)([^;#]*?)(\s*(?:[;#].*)?)$/;
const CLAUSE = /^\s*(===|==|~=|>=|<=|!=|<|>)\s*([0-9][0-9A-Za-z.*+!-]*)\s*$/;

export interface Requirement {
  name: string;
  /** The specifier as written, e.g. "==2.13.0", ">=2.1,<3" or "" (any version). */
  specifier: string;
}

/** One requirement line (or pyproject string), or undefined for comments, options (`-r`, `--index-url`) and URLs. */
export function parseRequirement(text: string): Requirement | undefined {
  if (/^\s*(#|-|$)/.test(text) || /@\s*\w+:\/\//.test(text)) return undefined;
  const match = REQUIREMENT.exec(text);
  if (!match) return undefined;
  return { name: match[2], specifier: match[5].trim() };
}

function parts(version: string): number[] {
  return version.split('.').map((p) => Number.parseInt(p, 10) || 0);
}

/** Release versions compared numerically, component by component (2.9 < 2.13); negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++)
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

export class SpecifierError extends Error {}

/**
 * The specifier moved to `version` in its own style: `==` pins it, `>=` and `~=` start at it (`~=` keeps its number
 * of components), `!=` clauses stay; an upper bound (`<`, `<=`) that would exclude it is refused, naming the bound.
 */
export function moveSpecifier(specifier: string, version: string): string {
  if (specifier.trim() === '') return specifier;
  const clauses = specifier.split(',').map((clause) => {
    const match = CLAUSE.exec(clause);
    if (!match) throw new SpecifierError(`cannot read the clause "${clause.trim()}"`);
    return { op: match[1], version: match[2] };
  });
  const moved = clauses.map(({ op, version: bound }) => {
    if (op === '==' || op === '===' || op === '>=') return `${op}${version}`;
    if (op === '~=') {
      const keep = Math.max(2, bound.split('.').length);
      return `~=${[...version.split('.'), '0', '0'].slice(0, keep).join('.')}`;
    }
    if ((op === '<' && compareVersions(version, bound) >= 0) || (op === '<=' && compareVersions(version, bound) > 0))
      throw new SpecifierError(`its upper bound ${op}${bound} excludes ${version}; widen it in the same step`);
    if (op === '>' && compareVersions(version, bound) <= 0)
      throw new SpecifierError(`its lower bound >${bound} excludes ${version}`);
    return `${op}${bound}`;
  });
  // The separator the repository used between clauses (", " or ",").
  const separator = /,\s/.test(specifier) ? ', ' : ',';
  return moved.join(separator);
}

/** The line with its requirement's specifier moved to `version`; everything else on it kept. */
export function moveRequirementLine(line: string, version: string): string {
  const match = REQUIREMENT.exec(line);
  if (!match) return line;
  const [, indent, name, extras = '', gap, specifier, tail] = match;
  const moved = moveSpecifier(specifier, version);
  return `${indent}${name}${extras}${gap}${moved}${tail}`;
}

export interface FileEdit {
  file: string;
  before: string;
  after: string;
  /** Each matching requirement as it was and as it is now. */
  moves: { from: string; to: string }[];
}

/** A requirements file with every requirement on `pkg` moved; `moves` is empty when the file does not name it. */
export function editRequirementsFile(file: string, text: string, pkg: string, version: string): FileEdit {
  const moves: FileEdit['moves'] = [];
  const lines = text.split('\n').map((line) => {
    const requirement = parseRequirement(line);
    if (!requirement || normalizeName(requirement.name) !== normalizeName(pkg)) return line;
    try {
      const moved = moveRequirementLine(line, version);
      moves.push({ from: line.trim(), to: moved.trim() });
      return moved;
    } catch (err) {
      throw new SpecifierError(`${file}: ${requirement.name}${requirement.specifier}: ${(err as Error).message}`);
    }
  });
  return { file, before: text, after: lines.join('\n'), moves };
}

/** The version a specifier pins or starts at (what the survey reads as declared): "==2.13.0" → "2.13.0". */
export function declaredVersion(specifier: string): string | undefined {
  return /(?:===|==|~=|>=)\s*([0-9][0-9A-Za-z.+!-]*)/.exec(specifier)?.[1];
}
