/** The ecosystem registry: adding an ecosystem is adding a folder under src/ecosystems and a line here. */
import { goEcosystem } from './go';
import { mavenEcosystem } from './maven';
import { npmEcosystem } from './npm';
import { pythonEcosystem } from './python';
import type { Ecosystem, EcosystemName, EcosystemToolchain } from './types';
import type { ToolchainCache } from '../toolchains/cache';
import type { TestCounts } from '../contracts';
import type { ImmutableArtifact } from '../registry/artifact-cache';

export const ECOSYSTEMS: readonly Ecosystem[] = [npmEcosystem, goEcosystem, mavenEcosystem, pythonEcosystem];

export function ecosystemNamed(name: EcosystemName): Ecosystem {
  const found = ECOSYSTEMS.find((e) => e.name === name);
  if (!found)
    throw new Error(`no ecosystem is named "${name}"; expected one of ${ECOSYSTEMS.map((e) => e.name).join(', ')}`);
  return found;
}

/** The toolchains beyond Node.js that the repository at `repoDir` needs, one per ecosystem it uses. */
export async function prepareEcosystemToolchains(
  repoDir: string,
  cache: ToolchainCache,
): Promise<EcosystemToolchain[]> {
  const prepared: EcosystemToolchain[] = [];
  for (const ecosystem of ECOSYSTEMS) {
    const toolchain = await ecosystem.prepareToolchain?.(repoDir, cache);
    if (toolchain) prepared.push(toolchain);
  }
  return prepared;
}

/** Each ecosystem's upstream registry as this host configures it, for the egress proxy's read-only routes. */
export function hostRegistryUpstreams(): ReadOnlyUpstream[] {
  return ECOSYSTEMS.flatMap((ecosystem) => {
    const url = ecosystem.registry?.upstream();
    const registry = ecosystem.registry;
    return url && registry
      ? [{ name: ecosystem.name, url, sandboxEnv: registry.sandboxEnv, immutableArtifact: registry.immutableArtifact }]
      : [];
  });
}

/** A registry the egress proxy serves sandboxes at `<proxy>/upstream/<name>/`, read-only. */
export interface ReadOnlyUpstream {
  name: string;
  url: string;
  sandboxEnv(routeUrl: string): Record<string, string>;
  /** Immutable artifacts the proxy may serve from the host's cache (absent: nothing is cached). */
  immutableArtifact?(registryPath: string): ImmutableArtifact | undefined;
}

/** Test counts from a verifier command's output, in the first ecosystem format it is written in. */
export function ecosystemTestCounts(output: string): TestCounts | undefined {
  for (const ecosystem of ECOSYSTEMS) {
    const counts = ecosystem.testReport?.parse(output);
    if (counts) return { source: ecosystem.testReport!.source, ...counts };
  }
  return undefined;
}

export type { Ecosystem, EcosystemName };
