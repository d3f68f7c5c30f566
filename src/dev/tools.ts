/**
 * The host tools the local stack needs, installed idempotently: Debian packages through apt, and the
 * Temporal CLI and versitygw through `go install` at pinned versions.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandSucceeds, runChecked, runCommand } from '../host/command';

/** openjdk-17-jdk-headless and maven: the JDK and Maven that Maven repositories' sandboxes get (src/ecosystems/maven). */
export const APT_PACKAGES = ['docker.io', 'debootstrap', 'git', 'openjdk-17-jdk-headless', 'maven'] as const;
/** Only the test suite needs these: the Web UI test drives Debian's Chromium headless; the HTTPS registry tests make a CA with openssl. */
export const TEST_APT_PACKAGES = ['chromium', 'openssl'] as const;

export interface GoTool {
  binary: string;
  /** The package path given to `go install`. */
  installPath: string;
  /** The module whose version `go version -m` reports on its `mod` line. */
  module: string;
  version: string;
  /** A directory under the Go bin dir of its own, for binaries whose names would clash (`server`). */
  binSubdir?: string;
}

export const GO_TOOLS = {
  // v1.5.1 is the last CLI tag without `replace` directives, so `go install …@version` still works.
  temporal: {
    binary: 'temporal',
    installPath: 'github.com/temporalio/cli/cmd/temporal',
    module: 'github.com/temporalio/cli',
    version: 'v1.5.1',
  },
  versitygw: {
    binary: 'versitygw',
    installPath: 'github.com/versity/versitygw/cmd/versitygw',
    module: 'github.com/versity/versitygw',
    version: 'v1.7.0',
  },
} as const satisfies Record<string, GoTool>;

export type GoToolName = keyof typeof GO_TOOLS;

/**
 * The real Temporal cluster's Go binaries (`regatta dev up --cluster`), built only when the cluster is asked
 * for. v1.30.4 and the UI server's v2.55.0 are the newest tags whose go.mod this machine's Go 1.26 accepts.
 */
export const CLUSTER_GO_TOOLS = {
  server: {
    binary: 'server',
    installPath: 'go.temporal.io/server/cmd/server',
    module: 'go.temporal.io/server',
    version: 'v1.30.4',
    binSubdir: 'regatta-cluster/server',
  },
  sql: {
    binary: 'sql',
    installPath: 'go.temporal.io/server/cmd/tools/sql',
    module: 'go.temporal.io/server',
    version: 'v1.30.4',
    binSubdir: 'regatta-cluster/sql',
  },
  ui: {
    binary: 'server',
    installPath: 'github.com/temporalio/ui-server/v2/cmd/server',
    module: 'github.com/temporalio/ui-server/v2',
    version: 'v2.55.0',
    binSubdir: 'regatta-cluster/ui',
  },
} as const satisfies Record<string, GoTool>;

export interface InstalledTools {
  temporal: string;
  versitygw: string;
}

export type ProgressLog = (message: string) => void;

const quiet: ProgressLog = () => undefined;

export async function ensureTools(log: ProgressLog = quiet): Promise<InstalledTools> {
  await ensureAptPackages([...APT_PACKAGES], log);
  const [temporal, versitygw] = await Promise.all([
    ensureGoTool(GO_TOOLS.temporal, log),
    ensureGoTool(GO_TOOLS.versitygw, log),
  ]);
  return { temporal, versitygw };
}

export async function missingAptPackages(packages: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const pkg of packages) {
    const status = await runCommand('dpkg-query', ['-W', '-f=${Status}', pkg]);
    if (status.code !== 0 || !status.stdout.includes('install ok installed')) missing.push(pkg);
  }
  return missing;
}

export async function ensureAptPackages(packages: string[], log: ProgressLog = quiet): Promise<void> {
  const missing = await missingAptPackages(packages);
  if (missing.length === 0) return;
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const [cmd, prefix] = await privileged();
  await runChecked(cmd, [...prefix, 'apt-get', 'update', '-q'], { env });
  await runChecked(cmd, [...prefix, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...missing], { env });
}

/** apt needs root: run directly as root, otherwise through passwordless sudo. */
async function privileged(): Promise<[string, string[]]> {
  if (process.getuid?.() === 0) return ['env', []];
  if (await commandSucceeds('sudo', ['-n', 'true'])) return ['sudo', ['-n', 'env']];
  throw new Error(
    'installing Debian packages needs root: run as root or configure passwordless sudo, or install them yourself: apt-get install ' +
      APT_PACKAGES.join(' '),
  );
}

let goBinDirCache: string | undefined;

/** Where `go install` puts binaries: $GOBIN, else the first GOPATH entry's bin, else ~/go/bin. */
export async function goBinDir(): Promise<string> {
  if (goBinDirCache) return goBinDirCache;
  const env = await runCommand('go', ['env', 'GOBIN', 'GOPATH']);
  if (env.code === 0) {
    const [gobin, gopath] = env.stdout.split('\n').map((l) => l.trim());
    goBinDirCache = gobin || (gopath ? path.join(gopath.split(path.delimiter)[0], 'bin') : undefined);
  }
  goBinDirCache ??= process.env.GOBIN || path.join(os.homedir(), 'go', 'bin');
  return goBinDirCache;
}

export async function goToolPath(tool: GoToolName): Promise<string> {
  return path.join(await goBinDir(), GO_TOOLS[tool].binary);
}

/** The module version `go version -m` reports for a binary, or undefined when it cannot tell. */
export async function installedModuleVersion(binary: string, module: string): Promise<string | undefined> {
  if (!fs.existsSync(binary)) return undefined;
  const info = await runCommand('go', ['version', '-m', binary]);
  if (info.code !== 0) return undefined;
  const modLine = info.stdout.split('\n').find((line) => line.trim().startsWith('mod\t') && line.includes(module));
  return modLine?.trim().split(/\s+/)[2];
}

export async function goToolBinary(tool: GoTool): Promise<string> {
  return path.join(await goBinDir(), tool.binSubdir ?? '', tool.binary);
}

/** The directory `go` keeps downloaded modules in (a module's schema and config files are read from there). */
export async function goModuleDir(module: string, version: string): Promise<string> {
  const cache = (await runChecked('go', ['env', 'GOMODCACHE'])).stdout.trim();
  const dir = path.join(cache, `${module}@${version}`);
  if (!fs.existsSync(dir)) await runChecked('go', ['mod', 'download', `${module}@${version}`], { cwd: os.tmpdir() });
  return dir;
}

export async function ensureGoTool(tool: GoTool, log: ProgressLog = quiet): Promise<string> {
  const binary = await goToolBinary(tool);
  const hasGo = await commandSucceeds('go', ['version']);
  if (!hasGo) {
    if (fs.existsSync(binary)) return binary;
    throw new Error(
      `${tool.binary} ${tool.version} is missing and Go is not installed: install Go (1.23 or newer) so \`go install ${tool.installPath}@${tool.version}\` can build it`,
    );
  }
  if ((await installedModuleVersion(binary, tool.module)) === tool.version) return binary;
  log(`building ${tool.binary} ${tool.version} with go install (takes a few minutes the first time)`);
  await runChecked('go', ['install', `${tool.installPath}@${tool.version}`], {
    env: { ...process.env, GOBIN: path.dirname(binary) },
  });
  const installed = await installedModuleVersion(binary, tool.module);
  if (installed !== tool.version)
    throw new Error(`go install ${tool.installPath}@${tool.version} left ${binary} at ${installed ?? 'no version'}`);
  return binary;
}
