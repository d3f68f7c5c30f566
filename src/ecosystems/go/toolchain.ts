/**
 * Go for a run's sandbox: the release go.mod asks for, fetched as the module `golang.org/toolchain` through the host's
 * own `go` (so from `go env GOPROXY`, with the checksum the go command verifies against the checksum database
 * through that proxy), copied into the host's toolchain cache with a manifest of every file, mounted read-only.
 *
 * Which release: go.mod's `toolchain` line exactly; else the host's Go when it is at least the `go` line; else the
 * `go` line itself when it names a release (1.27.3). The sandbox runs with GOTOOLCHAIN=local, so go never goes
 * looking for another one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runChecked } from '../../host/command';
import type { ToolchainCache } from '../../toolchains/cache';
import type { EcosystemToolchain, EcosystemToolchainSource } from '../types';
import { parseGoMod, type GoMod } from './go-mod';

const TOOLCHAIN_MODULE = 'golang.org/toolchain';
const MOUNT = '/opt/regatta/toolchain/go';
const RELEASE = /^\d+\.\d+\.\d+$/;

export class GoToolchainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoToolchainError';
  }
}

export interface GoVersionChoice {
  version: string;
  source: EcosystemToolchainSource;
  declared?: string;
}

function compare(a: string, b: string): number {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

export function chooseGoVersion(mod: GoMod, hostVersion: string): GoVersionChoice {
  if (mod.toolchain) {
    if (!RELEASE.test(mod.toolchain))
      throw new GoToolchainError(
        `go.mod's toolchain line is "go${mod.toolchain}"; expected a release such as go1.27.3`,
      );
    return { version: mod.toolchain, source: 'go.mod toolchain', declared: `go${mod.toolchain}` };
  }
  if (!mod.go || compare(hostVersion, mod.go) >= 0)
    return { version: hostVersion, source: 'host', ...(mod.go ? { declared: `go ${mod.go}` } : {}) };
  if (RELEASE.test(mod.go)) return { version: mod.go, source: 'go.mod go', declared: `go ${mod.go}` };
  throw new GoToolchainError(
    `go.mod asks for go ${mod.go}, newer than this host's go ${hostVersion}, and names no release; add a toolchain line (e.g. toolchain go${mod.go}.0)`,
  );
}

let hostGo: Promise<string> | undefined;

/** This host's Go release, e.g. "1.26.8" (from `go env GOVERSION`). */
export function hostGoVersion(): Promise<string> {
  hostGo ??= runChecked('go', ['env', 'GOVERSION']).then((r) => r.stdout.trim().replace(/^go/, ''));
  return hostGo;
}

interface DownloadedModule {
  Dir?: string;
  Sum?: string;
  Error?: string;
}

/** `go mod download -json` outside any module: the proxy's zip, checked by the go command, unpacked in GOMODCACHE. */
async function downloadToolchainModule(version: string): Promise<{ dir: string; sum: string }> {
  const moduleVersion = `${TOOLCHAIN_MODULE}@v0.0.1-go${version}.linux-amd64`;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-go-toolchain-'));
  try {
    const result = await runChecked('go', ['mod', 'download', '-json', moduleVersion], {
      cwd: scratch,
      env: { ...process.env, GOFLAGS: '-mod=mod', GO111MODULE: 'on' },
    }).catch((err: Error) => {
      throw new GoToolchainError(`the Go module proxy has no ${moduleVersion}: ${err.message.slice(-400)}`);
    });
    const downloaded = JSON.parse(result.stdout) as DownloadedModule;
    if (downloaded.Error || !downloaded.Dir || !downloaded.Sum)
      throw new GoToolchainError(`go mod download ${moduleVersion} failed: ${downloaded.Error ?? 'no directory'}`);
    return { dir: downloaded.Dir, sum: downloaded.Sum };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Module zips keep no file modes: as the go command does for a toolchain it downloads, bin/ and pkg/tool/ run. */
function markExecutables(root: string): void {
  const toolDirs = fs.existsSync(path.join(root, 'pkg', 'tool'))
    ? fs.readdirSync(path.join(root, 'pkg', 'tool')).map((d) => path.join(root, 'pkg', 'tool', d))
    : [];
  for (const dir of [path.join(root, 'bin'), ...toolDirs])
    for (const file of fs.readdirSync(dir, { withFileTypes: true }))
      if (file.isFile()) fs.chmodSync(path.join(dir, file.name), 0o755);
}

/** The Go the repository at `repoDir` needs, or undefined when it has no go.mod. */
export async function prepareGoToolchain(
  repoDir: string,
  cache: ToolchainCache,
): Promise<EcosystemToolchain | undefined> {
  const goModPath = path.join(repoDir, 'go.mod');
  // Read as data and never through a link the repository planted.
  if (!fs.lstatSync(goModPath, { throwIfNoEntry: false })?.isFile()) return undefined;
  const choice = chooseGoVersion(parseGoMod(fs.readFileSync(goModPath, 'utf8')), await hostGoVersion());
  const downloaded = await downloadToolchainModule(choice.version);
  const install = await cache.ensureFilled(
    'go',
    TOOLCHAIN_MODULE,
    { version: choice.version, integrity: downloaded.sum },
    async (unpacked) => {
      await runChecked('cp', ['-R', `${downloaded.dir}/.`, unpacked]);
      markExecutables(unpacked);
    },
  );
  return {
    tools: [
      {
        name: 'go',
        version: choice.version,
        source: choice.source,
        ...(choice.declared ? { declared: choice.declared } : {}),
      },
    ],
    mounts: [{ hostPath: install.dir, containerPath: MOUNT }],
    path: [`${MOUNT}/bin`],
    env: {
      GOROOT: MOUNT,
      GOTOOLCHAIN: 'local',
      GOPATH: '/tmp/go',
      GOCACHE: '/tmp/go-build',
      // -mod=mod lets go update go.sum from the proxy; -buildvcs=false because the sandbox has no git to stamp builds with.
      GOFLAGS: '-mod=mod -buildvcs=false',
    },
  };
}
