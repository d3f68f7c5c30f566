/**
 * The cluster's database: Debian's PostgreSQL 15 on loopback, run as the `postgres` OS user (initdb
 * refuses root) with its data under <home>/cluster/postgres, and Temporal's two databases with their
 * schemas applied by Temporal's own SQL tool.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runChecked, runCommand } from '../host/command';
import { CLUSTER_DATABASES, CLUSTER_DB_PASSWORD, CLUSTER_DB_USER, type ClusterConfig } from './cluster-config';
import { runningService, servicePaths, startService, waitUntil } from './processes';
import type { ProgressLog } from './tools';

export const POSTGRES_SERVICE = 'postgres';
export const POSTGRES_APT_PACKAGE = 'postgresql-15';
const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';
const OS_USER = 'postgres';

function asPostgresUser(command: string, args: string[]): [string, string[]] {
  return ['runuser', ['-u', OS_USER, '--', path.join(POSTGRES_BIN, command), ...args]];
}

export async function postgresAnswers(cluster: ClusterConfig): Promise<boolean> {
  const ready = await runCommand(path.join(POSTGRES_BIN, 'pg_isready'), [
    '-h',
    '127.0.0.1',
    '-p',
    String(cluster.postgresPort),
  ]);
  return ready.code === 0;
}

/** initdb once (the `temporal` superuser, password auth over TCP), then start the server unless it answers. */
export async function ensurePostgres(cluster: ClusterConfig, log: ProgressLog): Promise<void> {
  if (!fs.existsSync(path.join(cluster.postgresData, 'PG_VERSION'))) {
    log(`initialising PostgreSQL in ${cluster.postgresData}`);
    // The postgres user must be able to reach its data directory through <home>/cluster.
    fs.mkdirSync(cluster.root, { recursive: true });
    fs.chmodSync(cluster.root, 0o755);
    fs.mkdirSync(cluster.postgresData, { recursive: true, mode: 0o700 });
    const passwordFile = path.join(cluster.root, 'run', 'pg-password');
    fs.mkdirSync(path.dirname(passwordFile), { recursive: true });
    fs.writeFileSync(passwordFile, `${CLUSTER_DB_PASSWORD}\n`, { mode: 0o644 });
    await runChecked('chown', ['-R', `${OS_USER}:${OS_USER}`, cluster.postgresData]);
    const [cmd, args] = asPostgresUser('initdb', [
      '-D',
      cluster.postgresData,
      '-U',
      CLUSTER_DB_USER,
      `--pwfile=${passwordFile}`,
      '--auth-host=scram-sha-256',
      '--auth-local=peer',
      '--encoding=UTF8',
    ]);
    await runChecked(cmd, args);
    fs.rmSync(passwordFile, { force: true });
  }
  if (await postgresAnswers(cluster)) return;
  const [cmd, args] = asPostgresUser('postgres', [
    '-D',
    cluster.postgresData,
    '-h',
    '127.0.0.1',
    '-p',
    String(cluster.postgresPort),
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=200',
  ]);
  const record = startService(cluster.root, { name: POSTGRES_SERVICE, command: cmd, args });
  await waitUntil(() => postgresAnswers(cluster), {
    what: `PostgreSQL on 127.0.0.1:${cluster.postgresPort}`,
    timeoutMs: 60_000,
    intervalMs: 500,
    pid: record.pid,
    logFile: servicePaths(cluster.root, POSTGRES_SERVICE).logFile,
  });
}

function psqlEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PGPASSWORD: CLUSTER_DB_PASSWORD };
}

async function psqlValue(cluster: ClusterConfig, database: string, sql: string): Promise<string> {
  const result = await runChecked(
    path.join(POSTGRES_BIN, 'psql'),
    ['-h', '127.0.0.1', '-p', String(cluster.postgresPort), '-U', CLUSTER_DB_USER, '-d', database, '-tAc', sql],
    { env: psqlEnv() },
  );
  return result.stdout.trim();
}

/** Creates both databases if missing, sets up the base schema once, and applies every versioned update. */
export async function ensureSchemas(
  cluster: ClusterConfig,
  sqlTool: string,
  schemaRoot: string,
  log: ProgressLog,
): Promise<void> {
  const schemas = [
    { database: CLUSTER_DATABASES.temporal, dir: path.join(schemaRoot, 'temporal', 'versioned') },
    { database: CLUSTER_DATABASES.visibility, dir: path.join(schemaRoot, 'visibility', 'versioned') },
  ];
  for (const { database, dir } of schemas) {
    if (!fs.existsSync(dir))
      throw new Error(`schema directory ${dir} does not exist: expected the server module's schema/postgresql/v12`);
    const tool = (args: string[]) =>
      runChecked(
        sqlTool,
        [
          '--plugin',
          'postgres12',
          '--ep',
          '127.0.0.1',
          '-p',
          String(cluster.postgresPort),
          '-u',
          CLUSTER_DB_USER,
          '--pw',
          CLUSTER_DB_PASSWORD,
          '--db',
          database,
          ...args,
        ],
        { env: psqlEnv() },
      );
    const exists = await psqlValue(cluster, 'postgres', `SELECT 1 FROM pg_database WHERE datname = '${database}'`);
    if (exists !== '1') {
      log(`creating database ${database}`);
      await tool(['create-database']);
    }
    const versioned = await psqlValue(cluster, database, "SELECT to_regclass('schema_version') IS NOT NULL");
    if (versioned !== 't') await tool(['setup-schema', '-v', '0.0']);
    await tool(['update-schema', '-d', dir]);
  }
}

export function postgresStatus(cluster: ClusterConfig): { pid?: number } {
  return { pid: runningService(cluster.root, POSTGRES_SERVICE)?.pid };
}
