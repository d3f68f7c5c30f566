/**
 * The whole local stack, brought up idempotently in dependency order: tools → Docker → (Temporal, sandbox
 * image, fleet + git server, artifact store, package registry) → workers. What it learns is written to
 * <home>/stack.json, which tests and scripts read instead of guessing ports.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Target } from '../contracts';
import { loadConfig, type RegattaConfig } from '../config';
import {
  ARTIFACT_STORE_SERVICE,
  artifactStoreStatus,
  ensureArtifactStore,
  type ArtifactStoreInfo,
} from './artifact-store';
import { DOCKERD_SERVICE, dockerEngineVersion, ensureDockerEngine } from './docker-engine';
import { ECOSYSTEM_SERVICES, ensureFleet, FLEET, fleetRepoRoot, fleetTargets } from './fleet';
import { ensureInternalPackages, LOGGER_PACKAGE } from './internal-packages';
import { gitServerAnswers, GIT_SERVER_HEALTH_PATH } from './git-server';
import {
  ensurePackageRegistry,
  PACKAGE_REGISTRY_SERVICE,
  packageRegistryStatus,
  type PackageRegistryInfo,
} from './package-registry';
import { ensurePythonMirror, PYTHON_MIRROR_SERVICE, pythonMirrorStatus } from './python-mirror';
import { ensureRegistryMirror, REGISTRY_MIRROR_SERVICE, registryMirrorStatus } from './registry-mirror';
import { caBundleFromEnv, describeCaBundle } from '../registry/ca-bundle';
import { isPidAlive, runningService, servicePaths, sleep, startService, stopService, waitUntil } from './processes';
import { ensureSandboxImage, sandboxImageStatus } from './sandbox-image';
import { ensureTemporalServer, TEMPORAL_SERVICE, temporalStatus } from './temporal-server';
import { ensureTools, type ProgressLog } from './tools';
import { toolchainsFromEnv } from '../toolchains';
import { ensureWorker, workerServiceName, workerStatus, type WorkerRole } from './workers';

export const GIT_SERVER_SERVICE = 'git-server';
/** The fleet's internal scope, served by the stack's Verdaccio and reached through the mirror like any package. */
const LOGGER_SCOPE = LOGGER_PACKAGE.split('/')[0]!;
const WORKER_ROLES: WorkerRole[] = ['control', 'execution'];

export interface StackInfo {
  home: string;
  temporalAddress: string;
  namespace: string;
  uiUrl: string;
  gitBaseUrl: string;
  fleetRoot: string;
  targets: Target[];
  sandboxImage: string;
  artifactStore: ArtifactStoreInfo;
  packageRegistry: PackageRegistryInfo;
  /** The read-only caching mirror sandboxes on registry_only install through. */
  registryMirror: { url: string };
  /** The Python index mirror sandboxes install from (absent in stacks brought up before it). */
  pythonMirror?: { url: string };
  workers: boolean;
  updatedAt: string;
}

export interface EnsureStackOptions {
  /** Start the control and execution worker processes too (tests run their own workers in-process). */
  workers?: boolean;
  config?: RegattaConfig;
  log?: ProgressLog;
}

export interface ComponentStatus {
  name: string;
  healthy: boolean;
  detail: string;
  error?: string;
}

export interface StackStatus {
  healthy: boolean;
  components: ComponentStatus[];
  info?: StackInfo;
}

export function stackInfoFile(home: string): string {
  return path.join(home, 'stack.json');
}

export function readStackInfo(home = loadConfig().home): StackInfo {
  const file = stackInfoFile(home);
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist: run \`npx regatta dev up\` first`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as StackInfo;
}

function workersWereStarted(home: string): boolean {
  try {
    return readStackInfo(home).workers;
  } catch {
    return false;
  }
}

export function gitBaseUrl(config: RegattaConfig): string {
  return `http://127.0.0.1:${config.gitPort}`;
}

async function ensureGitServer(config: RegattaConfig): Promise<string> {
  const baseUrl = gitBaseUrl(config);
  const root = fleetRepoRoot(config.home);
  if (await gitServerAnswers(baseUrl)) {
    const served = ((await (await fetch(`${baseUrl}${GIT_SERVER_HEALTH_PATH}`)).json()) as { root: string }).root;
    if (path.resolve(served) === path.resolve(root)) return baseUrl;
    throw new Error(
      `port ${config.gitPort} already serves another fleet (${served}); stop that stack or set REGATTA_GIT_PORT`,
    );
  }
  const record = startService(config.home, {
    name: GIT_SERVER_SERVICE,
    command: process.execPath,
    args: ['--require', 'tsx/cjs', path.join(config.projectRoot, 'src', 'dev', 'git-server-main.ts')],
    cwd: config.projectRoot,
    env: { ...process.env, REGATTA_HOME: config.home, REGATTA_GIT_PORT: String(config.gitPort) },
  });
  await waitUntil(() => gitServerAnswers(baseUrl), {
    what: `git server at ${baseUrl}`,
    timeoutMs: 30_000,
    pid: record.pid,
    logFile: servicePaths(config.home, GIT_SERVER_SERVICE).logFile,
  });
  return baseUrl;
}

/** Serialises concurrent `ensureStack` calls (a test run and a demo at once) so neither starts duplicates. */
async function withStackLock<T>(home: string, use: () => Promise<T>): Promise<T> {
  const lock = path.join(home, 'run', 'stack.lock');
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = Number(fs.readFileSync(lock, 'utf8') || 0);
      if (!holder || !isPidAlive(holder)) fs.rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new Error(`the stack is locked by pid ${holder} (${lock})`);
      else await sleep(500);
    }
  }
  try {
    return await use();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

export class StackStartError extends Error {
  readonly type = 'infra' as const;
  constructor(readonly causes: Error[]) {
    super(causes.map((cause) => cause.message).join('\n\n'));
    this.name = 'StackStartError';
  }
}

/** Like Promise.all, but lets every component finish and reports all failures together. */
async function allComponents<T extends readonly unknown[]>(work: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(work);
  const failures = settled.flatMap((s) =>
    s.status === 'rejected' ? [s.reason instanceof Error ? s.reason : new Error(String(s.reason))] : [],
  );
  if (failures.length) throw new StackStartError(failures);
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

export async function ensureStack(options: EnsureStackOptions = {}): Promise<StackInfo> {
  const config = options.config ?? loadConfig();
  const log = options.log ?? (() => undefined);
  fs.mkdirSync(config.home, { recursive: true });
  return withStackLock(config.home, async () => {
    const tools = await ensureTools(log);
    await ensureDockerEngine(config.home);
    log('docker engine ready');
    const [, , gitUrl, artifactStore, packageRegistry] = await allComponents([
      ensureTemporalServer(config, tools.temporal).then((s) => log(`temporal ready on ${s.address} (UI ${s.uiUrl})`)),
      ensureSandboxImage({
        projectRoot: config.projectRoot,
        home: config.home,
        image: config.sandboxImage,
        baseImage: process.env.REGATTA_BASE_IMAGE,
        log,
      }).then((s) => log(`sandbox image ${s.image} ${s.built ? 'built' : 'up to date'}`)),
      ensureFleet(config.home).then(() => ensureGitServer(config)),
      ensureArtifactStore(config.home, tools.versitygw),
      ensurePackageRegistry(config.home, config.projectRoot).then(async (registry) => {
        const published = await ensureInternalPackages(config.home, registry.info);
        if (published.length) log(`published ${published.join(', ')} to ${registry.url}`);
        return registry;
      }),
      preinstallToolchains(config, log),
    ]);
    const mirror = await ensureRegistryMirror(config.home, config.projectRoot, { [LOGGER_SCOPE]: packageRegistry.url });
    log(`registry mirror on ${mirror.url}`);
    const pythonMirror = await ensurePythonMirror(config.home);
    log(`python index mirror (proxpi) on ${pythonMirror.url}`);
    log(`fleet of ${FLEET.length + ECOSYSTEM_SERVICES.length} repositories served at ${gitUrl}`);
    if (options.workers) {
      for (const role of WORKER_ROLES) {
        const status = await ensureWorker(config, role);
        log(
          status.available ? `${role} worker polling ${status.taskQueue}` : `${role} worker skipped: ${status.error}`,
        );
      }
    }
    const info: StackInfo = {
      home: config.home,
      temporalAddress: config.temporal.address,
      namespace: config.temporal.namespace,
      uiUrl: config.temporal.uiUrl,
      gitBaseUrl: gitUrl,
      fleetRoot: fleetRepoRoot(config.home),
      targets: fleetTargets(gitUrl),
      sandboxImage: config.sandboxImage,
      artifactStore: artifactStore.info,
      packageRegistry: packageRegistry.info,
      registryMirror: { url: mirror.url },
      pythonMirror,
      // A stack brought up with its workers keeps needing them, even when a later `dev up` (the tests') asks for none.
      workers: Boolean(options.workers) || workersWereStarted(config.home),
      updatedAt: new Date().toISOString(),
    };
    fs.writeFileSync(stackInfoFile(config.home), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
    return info;
  });
}

/** The current LTS lines of Node.js in the host's toolchain cache, so a first run does not wait for a download; never fatal. */
async function preinstallToolchains(config: RegattaConfig, log: ProgressLog): Promise<void> {
  try {
    const installed = await toolchainsFromEnv({ ...process.env, REGATTA_HOME: config.home }).preinstallLts();
    log(
      `toolchains: node ${installed.map((t) => `${t.version}${t.installed ? ' (installed)' : ''}`).join(', ')} in the host cache`,
    );
  } catch (err) {
    log(`toolchains not pre-installed (runs install theirs on first use): ${(err as Error).message}`);
  }
}

export async function stackStatus(config: RegattaConfig = loadConfig()): Promise<StackStatus> {
  const dockerVersion = await dockerEngineVersion();
  const baseUrl = gitBaseUrl(config);
  const [temporal, image, gitHealthy, artifacts, registry, mirror, pythonMirror, ...workers] = await Promise.all([
    temporalStatus(config),
    dockerVersion ? sandboxImageStatus(config.sandboxImage) : Promise.resolve(undefined),
    gitServerAnswers(baseUrl),
    artifactStoreStatus(config.home),
    packageRegistryStatus(),
    registryMirrorStatus(),
    pythonMirrorStatus(config.home),
    ...WORKER_ROLES.map((role) => workerStatus(config, role)),
  ]);
  const components: ComponentStatus[] = [
    {
      name: 'docker',
      healthy: Boolean(dockerVersion),
      detail: dockerVersion ? `engine ${dockerVersion}` : 'no engine answers',
      error: dockerVersion ? undefined : 'docker engine is not running',
    },
    {
      name: 'temporal',
      healthy: temporal.healthy,
      detail: `${temporal.address}, UI ${temporal.uiUrl}${temporal.uiHealthy ? '' : ' (UI not answering)'}`,
      error: temporal.error,
    },
    {
      name: 'sandbox-image',
      healthy: Boolean(image?.healthy),
      detail: config.sandboxImage,
      error: image ? image.error : 'docker engine is not running',
    },
    {
      name: 'git-server',
      healthy: gitHealthy,
      detail: `${baseUrl} (${FLEET.length + ECOSYSTEM_SERVICES.length} repositories)`,
      error: gitHealthy ? undefined : `no git server at ${baseUrl}`,
    },
    { name: 'artifact-store', healthy: artifacts.healthy, detail: artifacts.endpoint, error: artifacts.error },
    { name: 'package-registry', healthy: registry.healthy, detail: registry.url, error: registry.error },
    {
      name: 'registry-mirror',
      healthy: mirror.healthy,
      detail: `${mirror.url} (read-only; sandboxes trust ${describeCaBundle(caBundleFromEnv())})`,
      error: mirror.error,
    },
    { name: 'python-mirror', healthy: pythonMirror.healthy, detail: pythonMirror.detail, error: pythonMirror.error },
    ...workers.map((w) => ({
      name: workerServiceName(w.role),
      healthy: w.healthy,
      detail: `${w.taskQueue}${w.pid ? `, pid ${w.pid}` : ''}, ${w.pollers} poller(s)`,
      error: w.error,
    })),
  ];
  const info = fs.existsSync(stackInfoFile(config.home)) ? readStackInfo(config.home) : undefined;
  const required = components.filter((c) => !c.name.endsWith('-worker') || info?.workers);
  return { healthy: required.every((c) => c.healthy), components, info };
}

/** Stops the services this stack started (those with pid files), workers first, the engine last. */
export async function stopStack(config: RegattaConfig = loadConfig()): Promise<string[]> {
  const order = [
    ...WORKER_ROLES.map(workerServiceName),
    GIT_SERVER_SERVICE,
    REGISTRY_MIRROR_SERVICE,
    PYTHON_MIRROR_SERVICE,
    PACKAGE_REGISTRY_SERVICE,
    ARTIFACT_STORE_SERVICE,
    TEMPORAL_SERVICE,
    DOCKERD_SERVICE,
  ];
  const stopped: string[] = [];
  for (const name of order) {
    if (runningService(config.home, name) && (await stopService(config.home, name))) stopped.push(name);
  }
  // Stopped on purpose: the next stack is asked afresh whether it runs workers.
  if (fs.existsSync(stackInfoFile(config.home)))
    fs.writeFileSync(
      stackInfoFile(config.home),
      `${JSON.stringify({ ...readStackInfo(config.home), workers: false }, null, 2)}\n`,
      { mode: 0o600 },
    );
  return stopped;
}
