/**
 * pyproject.toml's PEP 621 dependencies (`[project] dependencies`, `[project.optional-dependencies]`) and PEP 735
 * `[dependency-groups]`, edited as text: a requirement string on the package has its specifier moved, and nothing
 * else in the file changes.
 */
import {
  editRequirementsFile,
  moveRequirementLine,
  normalizeName,
  parseRequirement,
  SpecifierError,
  type FileEdit,
} from './requirements';

const DEPENDENCY_TABLES = new Set(['project', 'project.optional-dependencies', 'dependency-groups']);
const STRING = /(["'])((?:(?!\1).)*)\1/g;

/** The requirement strings of the dependency tables, with where each one's text starts in the file. */
function dependencyStrings(text: string): { at: number; value: string; quote: string }[] {
  const found: { at: number; value: string; quote: string }[] = [];
  let table = '';
  let inArray = false;
  let offset = 0;
  for (const line of text.split('\n')) {
    const header = /^\s*\[([^\]]+)\]\s*(#.*)?$/.exec(line);
    if (header && !inArray) table = header[1].trim();
    else if (DEPENDENCY_TABLES.has(table)) {
      const key = /^\s*([A-Za-z0-9_.-]+)\s*=/.exec(line);
      const startsArray = key && (table !== 'project' || key[1] === 'dependencies') && line.includes('[');
      if (startsArray || inArray) {
        const code = line.split('#')[0];
        const from = startsArray ? code.indexOf('[') : 0;
        for (const m of code.slice(from).matchAll(STRING))
          found.push({ at: offset + from + m.index + 1, value: m[2], quote: m[1] });
        const opens = (code.slice(from).match(/\[/g) ?? []).length;
        const closes = (code.slice(from).match(/\]/g) ?? []).length;
        inArray = startsArray ? opens > closes : !code.includes(']');
      }
    }
    offset += line.length + 1;
  }
  return found;
}

export function readPyprojectRequirements(text: string) {
  return dependencyStrings(text).flatMap((s) => parseRequirement(s.value) ?? []);
}

export function editPyproject(file: string, text: string, pkg: string, version: string): FileEdit {
  const moves: FileEdit['moves'] = [];
  let after = text;
  // From the end, so earlier offsets stay valid.
  for (const s of dependencyStrings(text).reverse()) {
    const requirement = parseRequirement(s.value);
    if (!requirement || normalizeName(requirement.name) !== normalizeName(pkg)) continue;
    let moved: string;
    try {
      moved = moveRequirementLine(s.value, version);
    } catch (err) {
      throw new SpecifierError(`${file}: "${s.value}": ${(err as Error).message}`);
    }
    moves.unshift({ from: s.value, to: moved });
    after = after.slice(0, s.at) + moved + after.slice(s.at + s.value.length);
  }
  return { file, before: text, after, moves };
}

export { editRequirementsFile };
