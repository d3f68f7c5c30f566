/**
 * The package manager a run gets, as a registry package: npm, pnpm, Yarn 1 (`yarn`) or Yarn 2+ (`@yarnpkg/cli-dist`),
 * at the version the repository pins, else the newest release that supports the run's Node.js.
 */
import semver from 'semver';
import type { DeclaredPackageManager, PackageManagerName } from './declarations';
import type { PackageVersion, ToolchainRegistry } from './registry';

export class PackageManagerVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackageManagerVersionError';
  }
}

export interface PackageManagerRelease {
  name: PackageManagerName;
  /** The registry package that carries it. */
  package: string;
  release: PackageVersion;
}

function packageOf(declared: DeclaredPackageManager): string {
  if (declared.name !== 'yarn') return declared.name;
  const lowest = declared.version ?? (declared.range ? semver.minVersion(declared.range)?.version : undefined);
  const berry = lowest ? semver.major(lowest) >= 2 : declared.berry === true;
  return berry ? '@yarnpkg/cli-dist' : 'yarn';
}

/** The pinned version, or the newest stable one in the declared range, no newer than `latest`, whose `engines.node` accepts `nodeVersion`. */
export async function resolvePackageManager(
  declared: DeclaredPackageManager,
  nodeVersion: string,
  registry: ToolchainRegistry,
): Promise<PackageManagerRelease> {
  const pkg = packageOf(declared);
  if (declared.range && !semver.validRange(declared.range))
    throw new PackageManagerVersionError(`${declared.source} is "${declared.range}", which is not a version range`);
  const candidates = await registry.versions(pkg, declared.version ?? declared.range ?? '>=0');
  if (declared.version) {
    const pinned = candidates.find((c) => c.version === declared.version);
    if (!pinned)
      throw new PackageManagerVersionError(
        `${declared.source} asks for ${declared.name}@${declared.version}, which the registry does not carry as ${pkg}`,
      );
    return { name: declared.name, package: pkg, release: pinned };
  }
  const latest = await registry.latest(pkg);
  const supported = candidates
    .filter(
      (c) =>
        semver.valid(c.version) && semver.prerelease(c.version) === null && (!latest || semver.lte(c.version, latest)),
    )
    .filter((c) => !c.engines?.node || semver.satisfies(nodeVersion, c.engines.node))
    .sort((a, b) => semver.rcompare(a.version, b.version));
  if (supported.length === 0)
    throw new PackageManagerVersionError(
      `no release of ${pkg}${declared.range ? ` in ${declared.source} "${declared.range}"` : ''} in the registry supports Node.js ${nodeVersion}`,
    );
  return { name: declared.name, package: pkg, release: supported[0] };
}
