/**
 * Where the local Temporal cluster lives: its ports (Temporal's and PostgreSQL's defaults moved by one
 * offset, so the cluster never clashes with the dev server), its directories under REGATTA_HOME, and the
 * server config file the four services share.
 */
import path from 'node:path';
import { z } from 'zod';

export const CLUSTER_SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
export type ClusterService = (typeof CLUSTER_SERVICES)[number];

/** Temporal's default ports for each service: gRPC and membership (ringpop). */
const DEFAULT_PORTS: Record<ClusterService, { grpc: number; membership: number }> = {
  frontend: { grpc: 7233, membership: 6933 },
  history: { grpc: 7234, membership: 6934 },
  matching: { grpc: 7235, membership: 6935 },
  worker: { grpc: 7239, membership: 6939 },
};
const DEFAULT_FRONTEND_HTTP_PORT = 7243;
const DEFAULT_POSTGRES_PORT = 5432;
const DEFAULT_UI_PORT = 8233;

const ClusterEnv = z.object({
  REGATTA_CLUSTER_PORT_OFFSET: z.coerce
    .number({ error: 'expected a whole number' })
    .int('expected a whole number')
    .min(1, 'expected an offset of at least 1 (0 would take the dev server’s ports)')
    .max(50_000, 'expected an offset of at most 50000 (ports end at 65535)')
    .default(10_000),
});

export const CLUSTER_DB_USER = 'temporal';
export const CLUSTER_DB_PASSWORD = 'temporal';
export const CLUSTER_DATABASES = { temporal: 'temporal', visibility: 'temporal_visibility' } as const;
export const CLUSTER_NAMESPACE = 'default';

export interface ClusterConfig {
  home: string;
  offset: number;
  /** <home>/cluster: everything the cluster writes. */
  root: string;
  postgresData: string;
  logDir: string;
  configDir: string;
  configFile: string;
  postgresPort: number;
  frontendAddress: string;
  frontendHttpPort: number;
  uiPort: number;
  ports: Record<ClusterService, { grpc: number; membership: number }>;
}

export function clusterPortOffset(env: NodeJS.ProcessEnv = process.env): number {
  const parsed = ClusterEnv.safeParse({ REGATTA_CLUSTER_PORT_OFFSET: env.REGATTA_CLUSTER_PORT_OFFSET || undefined });
  if (parsed.success) return parsed.data.REGATTA_CLUSTER_PORT_OFFSET;
  const issue = parsed.error.issues[0]?.message ?? 'expected a whole number';
  throw new Error(`REGATTA_CLUSTER_PORT_OFFSET=${JSON.stringify(env.REGATTA_CLUSTER_PORT_OFFSET)}: ${issue}`);
}

export function clusterConfig(home: string, env: NodeJS.ProcessEnv = process.env): ClusterConfig {
  const offset = clusterPortOffset(env);
  const root = path.join(home, 'cluster');
  const ports = Object.fromEntries(
    CLUSTER_SERVICES.map((service) => [
      service,
      { grpc: DEFAULT_PORTS[service].grpc + offset, membership: DEFAULT_PORTS[service].membership + offset },
    ]),
  ) as ClusterConfig['ports'];
  return {
    home,
    offset,
    root,
    postgresData: path.join(root, 'postgres'),
    logDir: path.join(root, 'logs'),
    configDir: path.join(root, 'config'),
    configFile: path.join(root, 'config', 'cluster.yaml'),
    postgresPort: DEFAULT_POSTGRES_PORT + offset,
    frontendAddress: `127.0.0.1:${ports.frontend.grpc}`,
    frontendHttpPort: DEFAULT_FRONTEND_HTTP_PORT + offset,
    uiPort: DEFAULT_UI_PORT + offset,
    ports,
  };
}

function datastore(database: string, port: number, maxConns: number): string {
  return `      sql:
        pluginName: "postgres12"
        databaseName: "${database}"
        connectAddr: "127.0.0.1:${port}"
        connectProtocol: "tcp"
        user: "${CLUSTER_DB_USER}"
        password: "${CLUSTER_DB_PASSWORD}"
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: "1h"`;
}

/**
 * The server config every service starts from: the module's config/development-postgres12.yaml with the
 * ports moved, advanced visibility on PostgreSQL, and no shared pprof or metrics listener (four processes
 * would fight over one port).
 */
export function clusterServerConfig(cluster: ClusterConfig, dynamicConfigFile: string): string {
  const services = CLUSTER_SERVICES.map((service) => {
    const http = service === 'frontend' ? `\n      httpPort: ${cluster.frontendHttpPort}` : '';
    return `  ${service}:
    rpc:
      grpcPort: ${cluster.ports[service].grpc}
      membershipPort: ${cluster.ports[service].membership}
      bindOnLocalHost: true${http}`;
  }).join('\n');
  return `# Written by \`regatta dev up --cluster\`; rewritten on every up.
log:
  stdout: true
  level: warn

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
${datastore(CLUSTER_DATABASES.temporal, cluster.postgresPort, 20)}
    postgres-visibility:
${datastore(CLUSTER_DATABASES.visibility, cluster.postgresPort, 10)}

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"

services:
${services}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "${cluster.frontendAddress}"

dcRedirectionPolicy:
  policy: "noop"

dynamicConfigClient:
  filepath: "${dynamicConfigFile}"
  pollInterval: "10s"
`;
}
