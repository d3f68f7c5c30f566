/**
 * pom.xml read as text with offsets: the dependencies (and dependencyManagement) with their versions, the
 * `<properties>` those versions may name, and an edit that rewrites one version where it comes from. The file is never
 * re-serialized: an edit replaces the characters of one version and leaves every other byte as it was, so the
 * repository keeps its own formatting, comments and property names.
 */

/** A text range in the pom: `[start, end)` of the characters between an element's tags. */
export interface TextRange {
  start: number;
  end: number;
}

export interface PomDependency {
  groupId: string;
  artifactId: string;
  /** The `<version>` text as written, e.g. "3.12.0" or "${commons.version}"; absent when the pom gives none. */
  version?: { text: string; range: TextRange };
  managed: boolean;
}

export interface Pom {
  dependencies: PomDependency[];
  properties: Map<string, { value: string; range: TextRange }>;
  /** The project's own `<version>`, for `${project.version}`. */
  projectVersion?: string;
}

/** Where the version a dependency uses is written: in a property, or as the literal of its `<version>`. */
export interface VersionSource {
  version: string;
  kind: 'property' | 'literal';
  /** The property's name, where `kind` is property. */
  property?: string;
  range: TextRange;
  managed: boolean;
}

export class PomError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PomError';
  }
}

/** Comments and CDATA blanked out, same length, so offsets found in the mask are offsets in the file. */
function maskComments(text: string): string {
  return text.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/g, (m) => m.replace(/[^\n]/g, ' '));
}

/** The spans `[start, end)` of every `<tag>…</tag>` element in `masked` (not nested in itself). */
function spans(masked: string, tag: string): TextRange[] {
  const found: TextRange[] = [];
  for (const m of masked.matchAll(new RegExp(`<${tag}\\s*>([\\s\\S]*?)</${tag}\\s*>`, 'g')))
    found.push({ start: m.index, end: m.index + m[0].length });
  return found;
}

const inside = (at: number, ranges: TextRange[]) => ranges.some((r) => at >= r.start && at < r.end);

/** The first `<name>text</name>` child of the element at `offset` in `masked`, with the text's range in the file. */
function child(
  text: string,
  masked: string,
  body: TextRange,
  name: string,
): { text: string; range: TextRange } | undefined {
  const m = new RegExp(`<${name}\\s*>([^<]*)</${name}\\s*>`).exec(masked.slice(body.start, body.end));
  if (!m) return undefined;
  const start = body.start + m.index + m[0].indexOf('>') + 1;
  const end = start + m[1].length;
  return { text: text.slice(start, end).trim(), range: trimmed(text, { start, end }) };
}

function trimmed(text: string, range: TextRange): TextRange {
  let { start, end } = range;
  while (start < end && /\s/.test(text[start])) start++;
  while (end > start && /\s/.test(text[end - 1])) end--;
  return { start, end };
}

export function parsePom(text: string): Pom {
  const masked = maskComments(text);
  if (!/<project\b/.test(masked)) throw new PomError('pom.xml has no <project> element');
  // Plugins' own dependencies and profiles are not the project's dependencies.
  const excluded = [...spans(masked, 'plugins'), ...spans(masked, 'profiles'), ...spans(masked, 'pluginManagement')];
  const management = spans(masked, 'dependencyManagement');
  const dependencies: PomDependency[] = [];
  for (const span of spans(masked, 'dependency')) {
    if (inside(span.start, excluded)) continue;
    const groupId = child(text, masked, span, 'groupId');
    const artifactId = child(text, masked, span, 'artifactId');
    if (!groupId || !artifactId) continue;
    const version = child(text, masked, span, 'version');
    dependencies.push({
      groupId: groupId.text,
      artifactId: artifactId.text,
      ...(version ? { version } : {}),
      managed: inside(span.start, management),
    });
  }
  const properties: Pom['properties'] = new Map();
  for (const span of spans(masked, 'properties')) {
    if (inside(span.start, excluded)) continue;
    for (const m of masked.slice(span.start, span.end).matchAll(/<([A-Za-z_][\w.-]*)\s*>([^<]*)<\/\1\s*>/g)) {
      const start = span.start + m.index + m[0].indexOf('>') + 1;
      const range = trimmed(text, { start, end: start + m[2].length });
      if (!properties.has(m[1])) properties.set(m[1], { value: text.slice(range.start, range.end), range });
    }
  }
  return { dependencies, properties, projectVersion: projectVersion(text, masked) };
}

/** The `<version>` directly under `<project>`: outside parent, dependencies, build, profiles and the like. */
function projectVersion(text: string, masked: string): string | undefined {
  const nested = [
    'parent',
    'dependencies',
    'dependencyManagement',
    'build',
    'profiles',
    'reporting',
    'plugins',
  ].flatMap((tag) => spans(masked, tag));
  for (const m of masked.matchAll(/<version\s*>([^<]*)<\/version\s*>/g))
    if (!inside(m.index, nested))
      return text
        .slice(m.index + m[0].indexOf('>') + 1)
        .split('<')[0]
        .trim();
  return undefined;
}

const PROPERTY_REFERENCE = /^\$\{([^}]+)\}$/;

/** `groupId:artifactId` of every dependency the pom names, for error messages. */
function declaredNames(pom: Pom): string {
  const names = [...new Set(pom.dependencies.map((d) => `${d.groupId}:${d.artifactId}`))];
  return names.join(', ') || 'none';
}

/**
 * Where the version of `dependency` (`groupId:artifactId`) is written: the dependency's own `<version>` first, else
 * its dependencyManagement entry; through one `${property}` to `<properties>`. Undefined when the pom does not name it.
 */
export function versionSource(pom: Pom, dependency: string): VersionSource | undefined {
  const matching = pom.dependencies.filter((d) => `${d.groupId}:${d.artifactId}` === dependency);
  if (matching.length === 0) return undefined;
  const entry = matching.find((d) => !d.managed && d.version) ?? matching.find((d) => d.managed && d.version);
  if (!entry?.version)
    throw new PomError(
      `${dependency} has no <version> in pom.xml or its dependencyManagement; its version comes from a parent or a BOM this pom imports`,
    );
  const reference = PROPERTY_REFERENCE.exec(entry.version.text);
  if (!reference)
    return { version: entry.version.text, kind: 'literal', range: entry.version.range, managed: entry.managed };
  const property = pom.properties.get(reference[1]);
  if (!property)
    throw new PomError(
      `${dependency}'s version is \${${reference[1]}}, which pom.xml's <properties> does not define (a parent's property cannot be changed here)`,
    );
  if (PROPERTY_REFERENCE.test(property.value))
    throw new PomError(
      `${dependency}'s version property ${reference[1]} is itself ${property.value}; expected a version`,
    );
  return {
    version: property.value,
    kind: 'property',
    property: reference[1],
    range: property.range,
    managed: entry.managed,
  };
}

/** The version of `dependency` pom.xml resolves to, or undefined when pom.xml does not name it. */
export function declaredVersion(pomText: string, dependency: string): string | undefined {
  return versionSource(parsePom(pomText), dependency)?.version;
}

export interface PomEdit {
  text: string;
  from: string;
  source: VersionSource;
}

/** pom.xml with `dependency` at `version`, changed where its version is written and nowhere else. */
export function setDependencyVersion(pomText: string, dependency: string, version: string): PomEdit {
  const pom = parsePom(pomText);
  const source = versionSource(pom, dependency);
  if (!source)
    throw new PomError(
      `${dependency} is not a dependency in pom.xml (it declares ${declaredNames(pom)}); maven-upgrade moves a dependency the repository already has`,
    );
  const text = pomText.slice(0, source.range.start) + version + pomText.slice(source.range.end);
  return { text, from: source.version, source };
}
