/**
 * A real Temporal cluster on this machine (`regatta dev up --cluster`): PostgreSQL 15 with Temporal's
 * schemas, and the frontend, history, matching and worker services as four processes of one server
 * binary, beside the dev server rather than instead of it. Pids and logs live under <home>/cluster.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { runCommand } from '../host/command';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes';
import {
  CLUSTER_NAMESPACE,
  CLUSTER_SERVICES,
  clusterConfig,
  clusterServerConfig,
  type ClusterConfig,
  type ClusterService,
} from './cluster-config';
import {
  ensurePostgres,
  ensureSchemas,
  POSTGRES_APT_PACKAGE,
  POSTGRES_SERVICE,
  postgresAnswers,
} from './cluster-postgres';
import { runningService, servicePaths, startService, stopService, waitUntil } from './processes';
import { httpAnswers } from './temporal-server';
import { CLUSTER_GO_TOOLS, ensureAptPackages, ensureGoTool, GO_TOOLS, goModuleDir, type ProgressLog } from './tools';

export const UI_SERVICE = 'ui';
const quiet: ProgressLog = () => undefined;

export function clusterServiceName(service: ClusterService): string {
  return `temporal-${service}`;
}

export interface ClusterInfo {
  address: string;
  namespace: string;
  uiUrl?: string;
  postgres: string;
}

export interface ClusterComponentStatus {
  name: string;
  healthy: boolean;
  pid?: number;
  rssMb?: number;
  detail: string;
}

export interface ClusterStatus {
  healthy: boolean;
  address: string;
  components: ClusterComponentStatus[];
}

async function connect(address: string): Promise<Connection> {
  return Connection.connect({ address, connectTimeout: '2s' });
}

/** True once the frontend serves gRPC (which it does only after writing the cluster metadata). */
async function frontendServes(address: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await connect(address);
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** True when a `CampaignId = '…'` visibility query answers: namespace, search attributes and visibility all work. */
async function visibilityAnswers(address: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await connect(address);
    await connection.workflowService.listWorkflowExecutions({
      namespace: CLUSTER_NAMESPACE,
      query: `CampaignId = 'regatta-cluster-probe'`,
      pageSize: 1,
    });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, timeout: 1_000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

function rssMb(pid: number): number | undefined {
  try {
    const line = fs
      .readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return line ? Math.round(Number(line.split(/\s+/)[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

function writeServerConfig(cluster: ClusterConfig): void {
  fs.mkdirSync(cluster.configDir, { recursive: true });
  const dynamicConfig = path.join(cluster.configDir, 'dynamicconfig.yaml');
  fs.writeFileSync(
    dynamicConfig,
    '# Written by `regatta dev up --cluster`.\nfrontend.enableUpdateWorkflowExecution:\n  - value: true\n',
  );
  fs.writeFileSync(cluster.configFile, clusterServerConfig(cluster, dynamicConfig));
}

function startClusterService(cluster: ClusterConfig, server: string, service: ClusterService): number {
  const record = startService(cluster.root, {
    name: clusterServiceName(service),
    command: server,
    args: ['--config-file', cluster.configFile, '--allow-no-auth', 'start', '--service', service],
  });
  return record.pid;
}

/** The port that shows a service is up: its gRPC port, or for the worker service (which serves no gRPC) its membership port. */
function livenessPort(cluster: ClusterConfig, service: ClusterService): number {
  return service === 'worker' ? cluster.ports.worker.membership : cluster.ports[service].grpc;
}

async function waitForPort(cluster: ClusterConfig, service: ClusterService, pid: number): Promise<void> {
  await waitUntil(() => portAnswers(livenessPort(cluster, service)), {
    what: `Temporal ${service} service on 127.0.0.1:${livenessPort(cluster, service)}`,
    timeoutMs: 120_000,
    intervalMs: 500,
    pid,
    logFile: servicePaths(cluster.root, clusterServiceName(service)).logFile,
  });
}

/** The namespace and Regatta's search attributes, through the Temporal CLI; both steps are skipped when already done. */
async function registerNamespace(cluster: ClusterConfig, temporalCli: string, log: ProgressLog): Promise<void> {
  const address = ['--address', cluster.frontendAddress];
  const describe = await runCommand(temporalCli, [
    'operator',
    'namespace',
    'describe',
    '-n',
    CLUSTER_NAMESPACE,
    ...address,
  ]);
  if (describe.code !== 0) {
    log(`registering namespace ${CLUSTER_NAMESPACE}`);
    await retry(`temporal operator namespace create -n ${CLUSTER_NAMESPACE}`, () =>
      runCommand(temporalCli, [
        'operator',
        'namespace',
        'create',
        '-n',
        CLUSTER_NAMESPACE,
        '--retention',
        '72h',
        ...address,
      ]),
    );
  }
  const list = await runCommand(temporalCli, [
    'operator',
    'search-attribute',
    'list',
    '-n',
    CLUSTER_NAMESPACE,
    ...address,
  ]);
  const missing = SEARCH_ATTRIBUTES.filter((key) => !list.stdout.includes(key.name));
  if (missing.length === 0) return;
  log(`registering search attributes ${missing.map((key) => key.name).join(', ')}`);
  const args = missing.flatMap((key) => ['--name', key.name, '--type', 'Keyword']);
  await retry('temporal operator search-attribute create', () =>
    runCommand(temporalCli, ['operator', 'search-attribute', 'create', '-n', CLUSTER_NAMESPACE, ...args, ...address]),
  );
}

/** A freshly started cluster refuses a few calls while its services find each other; retry for a minute. */
async function retry(what: string, attempt: () => Promise<{ code: number; stdout: string; stderr: string }>) {
  let last = '';
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const result = await attempt();
    if (result.code === 0 || /already (exists|registered)/i.test(result.stderr)) return;
    last = `${result.stderr}${result.stdout}`.trim();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  throw new Error(`${what} kept failing for 60s: ${last}`);
}

async function ensureUi(cluster: ClusterConfig, log: ProgressLog): Promise<string | undefined> {
  const url = `http://127.0.0.1:${cluster.uiPort}`;
  if (await httpAnswers(url)) return url;
  let binary: string;
  try {
    binary = await ensureGoTool(CLUSTER_GO_TOOLS.ui, log);
  } catch (err) {
    log(`Web UI not available for the cluster: ${(err as Error).message}`);
    return undefined;
  }
  // The UI server reads <root>/<config>/<env>.yaml; ours is written beside the cluster's server config.
  const uiConfigDir = path.join(cluster.configDir, 'ui');
  fs.mkdirSync(uiConfigDir, { recursive: true });
  fs.writeFileSync(
    path.join(uiConfigDir, 'cluster.yaml'),
    `# Written by \`regatta dev up --cluster\`.
temporalGrpcAddress: ${cluster.frontendAddress}
host: 127.0.0.1
port: ${cluster.uiPort}
enableUi: true
defaultNamespace: ${CLUSTER_NAMESPACE}
cors:
  allowOrigins:
    - ${url}
`,
  );
  const record = startService(cluster.root, {
    name: UI_SERVICE,
    command: binary,
    args: ['--root', cluster.configDir, '--config', 'ui', '--env', 'cluster', 'start'],
  });
  await waitUntil(() => httpAnswers(url), {
    what: `cluster Web UI at ${url}`,
    timeoutMs: 30_000,
    pid: record.pid,
    logFile: servicePaths(cluster.root, UI_SERVICE).logFile,
  }).catch((err: Error) => log(`Web UI did not start: ${err.message}`));
  return url;
}

/** Installs what is missing, then starts whatever part of the cluster is not running; idempotent. */
export async function ensureCluster(home: string, log: ProgressLog = quiet): Promise<ClusterInfo> {
  const cluster = clusterConfig(home);
  fs.mkdirSync(cluster.logDir, { recursive: true });
  await ensureAptPackages([POSTGRES_APT_PACKAGE], log);
  const [server, sqlTool, temporalCli] = await Promise.all([
    ensureGoTool(CLUSTER_GO_TOOLS.server, log),
    ensureGoTool(CLUSTER_GO_TOOLS.sql, log),
    ensureGoTool(GO_TOOLS.temporal, log),
  ]);
  await ensurePostgres(cluster, log);
  const allRunning = CLUSTER_SERVICES.every((service) => runningService(cluster.root, clusterServiceName(service)));
  if (!allRunning) {
    const moduleDir = await goModuleDir(CLUSTER_GO_TOOLS.server.module, CLUSTER_GO_TOOLS.server.version);
    await ensureSchemas(cluster, sqlTool, path.join(moduleDir, 'schema', 'postgresql', 'v12'), log);
    writeServerConfig(cluster);
  }
  // The frontend first: on a fresh database every service races to insert the cluster metadata record,
  // and the losers exit on a duplicate key. The frontend serves only once that record is written.
  const frontendPid = startClusterService(cluster, server, 'frontend');
  await waitUntil(() => frontendServes(cluster.frontendAddress), {
    what: `Temporal frontend on ${cluster.frontendAddress}`,
    timeoutMs: 120_000,
    intervalMs: 500,
    pid: frontendPid,
    logFile: servicePaths(cluster.root, clusterServiceName('frontend')).logFile,
  });
  for (const service of CLUSTER_SERVICES.filter((s) => s !== 'frontend')) {
    await waitForPort(cluster, service, startClusterService(cluster, server, service));
  }
  await registerNamespace(cluster, temporalCli, log);
  await waitUntil(() => visibilityAnswers(cluster.frontendAddress), {
    what: `a CampaignId visibility query on ${cluster.frontendAddress}`,
    timeoutMs: 60_000,
    intervalMs: 500,
  });
  const uiUrl = await ensureUi(cluster, log);
  return {
    address: cluster.frontendAddress,
    namespace: CLUSTER_NAMESPACE,
    uiUrl,
    postgres: `127.0.0.1:${cluster.postgresPort}`,
  };
}

export async function clusterStatus(home: string): Promise<ClusterStatus> {
  const cluster = clusterConfig(home);
  const services = await Promise.all(
    CLUSTER_SERVICES.map(async (service): Promise<ClusterComponentStatus> => {
      const pid = runningService(cluster.root, clusterServiceName(service))?.pid;
      const port = livenessPort(cluster, service);
      const healthy =
        pid !== undefined &&
        (service === 'frontend' ? await frontendServes(cluster.frontendAddress) : await portAnswers(port));
      return { name: service, healthy, pid, rssMb: pid ? rssMb(pid) : undefined, detail: `127.0.0.1:${port}` };
    }),
  );
  const pgPid = runningService(cluster.root, POSTGRES_SERVICE)?.pid;
  const postgres: ClusterComponentStatus = {
    name: 'postgresql',
    healthy: await postgresAnswers(cluster),
    pid: pgPid,
    rssMb: pgPid ? rssMb(pgPid) : undefined,
    detail: `127.0.0.1:${cluster.postgresPort}, data ${cluster.postgresData}`,
  };
  const uiPid = runningService(cluster.root, UI_SERVICE)?.pid;
  const uiUrl = `http://127.0.0.1:${cluster.uiPort}`;
  const ui: ClusterComponentStatus[] = uiPid
    ? [{ name: 'web-ui', healthy: await httpAnswers(uiUrl), pid: uiPid, rssMb: rssMb(uiPid), detail: uiUrl }]
    : [];
  const components = [postgres, ...services, ...ui];
  return { healthy: components.every((c) => c.healthy), address: cluster.frontendAddress, components };
}

/** Stops the UI, the four services and PostgreSQL; the database files stay, so history survives. */
export async function stopCluster(home: string): Promise<string[]> {
  const cluster = clusterConfig(home);
  const order = [UI_SERVICE, ...[...CLUSTER_SERVICES].reverse().map(clusterServiceName), POSTGRES_SERVICE];
  const stopped: string[] = [];
  for (const name of order) {
    if (await stopService(cluster.root, name, 30_000)) stopped.push(name);
  }
  return stopped;
}
