/**
 * A package ecosystem, one folder each behind this interface (as Renovate's lib/modules/manager/<name>): the files
 * that say a repository uses it, the version of a dependency it declares, the recipe that upgrades one with its lock
 * data, the toolchain its commands need, how a sandbox reaches its registry, and how its test runner reports.
 * Adding an ecosystem is adding a folder and a line in ./index.ts.
 */
import type { TestCounts } from '../contracts';
import type { SandboxMount } from '../sandbox/driver';
import type { ToolchainCache } from '../toolchains/cache';
import type { ImmutableArtifact } from '../registry/artifact-cache';

export type EcosystemName = 'npm' | 'go' | 'maven' | 'python';

/** Reads one file of the repository as data (from git objects, nothing checked out); undefined when it is absent. */
export type RepositoryFileReader = (filepath: string) => Promise<string | undefined>;

/** What a repository declares of a dependency, and the version its lock data says is installed. */
export interface CurrentVersion {
  declared?: string;
  installed?: string;
}

/** Where an ecosystem's tool version came from, as evidence names it. */
export type EcosystemToolchainSource =
  | 'go.mod toolchain'
  | 'go.mod go'
  | 'host'
  | 'default'
  | 'pom.xml maven.compiler.release'
  | 'pom.xml maven.compiler.source'
  | '.python-version'
  | 'pyproject.toml requires-python';

/** A tool an ecosystem adds to a run's sandbox, installed in the host's cache and mounted read-only. */
export interface EcosystemToolchain {
  tools: { name: string; version: string; source: EcosystemToolchainSource; declared?: string }[];
  mounts: SandboxMount[];
  /** Directories to put before the sandbox's PATH. */
  path: string[];
  env: Record<string, string>;
}

/** The ecosystem's registry as the host configures it, reached by sandboxes through the egress proxy, read-only. */
export interface EcosystemRegistry {
  /** The upstream URL from the host's own configuration (e.g. `go env GOPROXY`); undefined when none is set. */
  upstream(): string | undefined;
  /** What the sandbox's tools need to use `routeUrl`, the egress proxy's read-only path to that upstream. */
  sandboxEnv(routeUrl: string): Record<string, string>;
  /** Whether a path under the registry is an immutable artifact the host may cache (and how to check it); undefined: never cached. */
  immutableArtifact?(registryPath: string): ImmutableArtifact | undefined;
}

export interface TestReportFormat {
  source: TestCounts['source'];
  parse(output: string): Omit<TestCounts, 'source'> | undefined;
}

export interface Ecosystem {
  readonly name: EcosystemName;
  /** The recipe that upgrades a dependency of this ecosystem (`npm-upgrade`, `go-upgrade`). */
  readonly recipeName: string;
  /** Files at a repository's root that say it uses this ecosystem. */
  readonly manifestFiles: readonly string[];
  readCurrentVersion(read: RepositoryFileReader, dependency: string): Promise<CurrentVersion>;
  /** The toolchain the ecosystem needs beyond Node.js, for the repository at `repoDir`; undefined when it does not use it. */
  prepareToolchain?(repoDir: string, cache: ToolchainCache): Promise<EcosystemToolchain | undefined>;
  readonly registry?: EcosystemRegistry;
  /** Test counts read from a verifier command's output, in the format the ecosystem's test runner prints. */
  readonly testReport?: TestReportFormat;
}
