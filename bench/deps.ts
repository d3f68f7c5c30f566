/**
 * Dependency installs in a sandbox against the host, the floor they are measured against:
 *   npx tsx bench/deps.ts
 * One fixture repository with over 200 transitive dependencies from the upstream registry (the host's
 * `npm config get registry`), no lockfile, installed
 *   (a) on the host, straight from the upstream, with an empty npm cache;
 *   (b) in a sandbox on registry_only (egress proxy → the host's registry mirror), the mirror's cache cold;
 *   (c) the same in a fresh sandbox, the mirror's cache warm (the sandbox's own npm cache is empty every time);
 *   (d) with `--connect`, also the path before the mirror: the sandbox tunnelling through the egress proxy's CONNECT
 *       straight to the HTTPS upstream, with the host's CA bundle.
 * Prints the times, the package count, and `ratio sandbox warm / host: R`.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { caBundleFromEnv, sandboxTrust } from '../src/registry/ca-bundle';
import { hostRegistry } from '../src/registry/mirror-settings';
import { dockerClient, Sandbox } from '../src/sandbox/driver';
import { networkProfiles } from '../src/sandbox/egress';
import { hostToolchains } from '../src/toolchains';
import { startTestMirror } from '../test/support/registry-mirror';

const MANIFEST = {
  name: 'bench-deps',
  version: '1.0.0',
  private: true,
  devDependencies: { mocha: '^10.8.2', nyc: '^17.1.0', eslint: '^8.57.0' },
};
const INSTALL = 'npm install --no-audit --no-fund --ignore-scripts';
const LIMITS = {
  runTimeoutMs: 900_000,
  commandTimeoutMs: 600_000,
  maxOutputBytes: 1024 * 1024,
  memoryBytes: 2 * 1024 ** 3,
  nanoCpus: 1_000_000_000,
  pids: 512,
};

function project(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-bench-deps-'));
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(MANIFEST, null, 2)}\n`);
  fs.chmodSync(dir, 0o777);
  return dir;
}

function packageCount(dir: string): number {
  const lock = JSON.parse(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, unknown>;
  };
  return Object.keys(lock.packages).filter((p) => p.startsWith('node_modules/') || p.includes('/node_modules/')).length;
}

function onHost(): { ms: number; packages: number } {
  const dir = project();
  const started = Date.now();
  execFileSync('sh', ['-c', `${INSTALL} --registry "${hostRegistry()}" --cache "${path.join(dir, '.npm-cache')}"`], {
    cwd: dir,
    stdio: 'pipe',
  });
  const ms = Date.now() - started;
  const packages = packageCount(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  return { ms, packages };
}

async function inSandbox(registryUrl: string, round: string): Promise<{ ms: number; packages: number }> {
  const docker = dockerClient();
  const dir = project();
  const toolchain = await hostToolchains().prepare(dir);
  const trust = sandboxTrust(caBundleFromEnv());
  const network = networkProfiles(docker, { registryUrl });
  const sandbox = await Sandbox.start(docker, {
    image: loadConfig().sandboxImage,
    workspaceDir: dir,
    runId: `bench/deps/${round}`,
    attempt: 1,
    limits: LIMITS,
    network: await network.networkFor('registry_only'),
    mounts: [...trust.mounts, ...toolchain.mounts],
    env: { ...trust.env, ...toolchain.env },
  });
  try {
    const result = await sandbox.exec(INSTALL);
    if (result.exitCode !== 0)
      throw new Error(`${round}: ${INSTALL} exited ${result.exitCode}:\n${result.output.slice(-3000)}`);
    return { ms: result.durationMs, packages: packageCount(dir) };
  } finally {
    await sandbox.remove();
    await network.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const mirror = await startTestMirror({ upstream: hostRegistry() });
  try {
    const host = onHost();
    const cold = await inSandbox(mirror.url, 'cold');
    const warm = await inSandbox(mirror.url, 'warm');
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `packages installed: ${host.packages} (host), ${cold.packages} (sandbox cold), ${warm.packages} (sandbox warm)`,
    );
    console.log(`(a) host, straight from the upstream:   ${s(host.ms)}`);
    console.log(`(b) sandbox, mirror cache cold:          ${s(cold.ms)}`);
    console.log(`(c) sandbox, mirror cache warm:          ${s(warm.ms)}`);
    if (process.argv.includes('--connect')) {
      const tunnel = await inSandbox(hostRegistry(), 'connect');
      console.log(
        `(d) sandbox, CONNECT to the upstream:    ${s(tunnel.ms)}  (ratio to host ${(tunnel.ms / host.ms).toFixed(2)})`,
      );
    }
    console.log(`ratio sandbox cold / host: ${(cold.ms / host.ms).toFixed(2)}`);
    console.log(`ratio sandbox warm / host: ${(warm.ms / host.ms).toFixed(2)}`);
  } finally {
    await mirror.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
