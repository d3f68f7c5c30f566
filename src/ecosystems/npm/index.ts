/**
 * npm: the ecosystem Regatta started with, behind the common interface without rewriting it. Its recipe is
 * src/recipes/npm-upgrade, its toolchain (Node.js and the package manager) src/toolchains, its registry the host's
 * mirror (src/registry) that the egress proxy names as the sandbox's registry, its test report TAP (and JUnit XML).
 */
import type { Ecosystem } from '../types';

function dependencyRange(manifest: unknown, pkg: string): string | undefined {
  const m = manifest as Record<string, Record<string, unknown> | undefined>;
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
    const value = m?.[field]?.[pkg];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

function lockedVersion(lock: unknown, pkg: string): string | undefined {
  const packages = (lock as { packages?: Record<string, { version?: unknown }> } | undefined)?.packages;
  const version = packages?.[`node_modules/${pkg}`]?.version;
  return typeof version === 'string' ? version : undefined;
}

export const npmEcosystem: Ecosystem = {
  name: 'npm',
  recipeName: 'npm-upgrade',
  manifestFiles: ['package.json'],
  async readCurrentVersion(read, pkg) {
    const manifest = await read('package.json');
    if (manifest === undefined) throw new Error('package.json is not in the repository');
    const lock = await read('package-lock.json').catch(() => undefined);
    let lockData: unknown;
    try {
      lockData = lock === undefined ? undefined : JSON.parse(lock);
    } catch {
      lockData = undefined;
    }
    const declared = dependencyRange(JSON.parse(manifest), pkg);
    const installed = lockedVersion(lockData, pkg);
    return { ...(declared ? { declared } : {}), ...(installed ? { installed } : {}) };
  },
};
