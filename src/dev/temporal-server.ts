/**
 * The Temporal dev server from the Temporal CLI, with a persistent SQLite file and Regatta's search
 * attributes. A server that already answers on the configured address is reused, not replaced.
 */
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import type { RegattaConfig } from '../config';
import { cliSearchAttributeArgs, SEARCH_ATTRIBUTES } from '../temporal/search-attributes';
import { servicePaths, startService, waitUntil } from './processes';

export const TEMPORAL_SERVICE = 'temporal';

export interface TemporalStatus {
  healthy: boolean;
  address: string;
  uiUrl: string;
  uiHealthy: boolean;
  startedByUs: boolean;
  missingSearchAttributes: string[];
  error?: string;
}

async function connect(config: RegattaConfig['temporal']): Promise<Connection> {
  return Connection.connect({
    address: config.address,
    tls: config.tls ? {} : undefined,
    apiKey: config.apiKey,
    connectTimeout: '2s',
  });
}

/** True when the server answers for the configured namespace. */
export async function temporalAnswers(config: RegattaConfig['temporal']): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await connect(config);
    await connection.workflowService.describeNamespace({ namespace: config.namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

async function missingSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const names = new Set([
    ...Object.keys(existing.customAttributes ?? {}),
    ...Object.keys(existing.systemAttributes ?? {}),
  ]);
  return SEARCH_ATTRIBUTES.filter((key) => !names.has(key.name)).map((key) => key.name);
}

/** Registers whichever of Regatta's search attributes the namespace lacks; returns the ones it added. */
export async function ensureSearchAttributes(config: RegattaConfig['temporal']): Promise<string[]> {
  const connection = await connect(config);
  try {
    const missing = await missingSearchAttributes(connection, config.namespace);
    if (missing.length === 0) return [];
    const searchAttributes = Object.fromEntries(
      SEARCH_ATTRIBUTES.filter((key) => missing.includes(key.name)).map((key) => [
        key.name,
        encodeSearchAttributeIndexedValueType(key.type)!,
      ]),
    );
    await connection.operatorService.addSearchAttributes({ namespace: config.namespace, searchAttributes });
    return missing;
  } finally {
    await connection.close();
  }
}

function devServerArgs(config: RegattaConfig): string[] {
  const [host, port] = config.temporal.address.split(':');
  const uiPort = new URL(config.temporal.uiUrl).port || '8233';
  return [
    'server',
    'start-dev',
    '--db-filename',
    path.join(config.home, 'temporal.db'),
    '--ip',
    host,
    '--port',
    port,
    '--ui-port',
    uiPort,
    '--namespace',
    config.temporal.namespace,
    '--log-level',
    'warn',
    ...cliSearchAttributeArgs(),
  ];
}

export async function ensureTemporalServer(config: RegattaConfig, temporalBinary: string): Promise<TemporalStatus> {
  let startedByUs = false;
  if (!(await temporalAnswers(config.temporal))) {
    const record = startService(config.home, {
      name: TEMPORAL_SERVICE,
      command: temporalBinary,
      args: devServerArgs(config),
    });
    startedByUs = true;
    await waitUntil(() => temporalAnswers(config.temporal), {
      what: `Temporal dev server on ${config.temporal.address}`,
      timeoutMs: 90_000,
      intervalMs: 500,
      pid: record.pid,
      logFile: servicePaths(config.home, TEMPORAL_SERVICE).logFile,
    });
  }
  await ensureSearchAttributes(config.temporal);
  await waitUntil(() => httpAnswers(config.temporal.uiUrl), {
    what: `Temporal Web UI at ${config.temporal.uiUrl}`,
    timeoutMs: 30_000,
  }).catch(() => undefined);
  return { ...(await temporalStatus(config)), startedByUs };
}

export async function temporalStatus(config: RegattaConfig): Promise<TemporalStatus> {
  const base = { address: config.temporal.address, uiUrl: config.temporal.uiUrl, startedByUs: false };
  let connection: Connection | undefined;
  try {
    connection = await connect(config.temporal);
    await connection.workflowService.describeNamespace({ namespace: config.temporal.namespace });
    const missing = await missingSearchAttributes(connection, config.temporal.namespace);
    const uiHealthy = await httpAnswers(config.temporal.uiUrl);
    return {
      ...base,
      healthy: missing.length === 0,
      uiHealthy,
      missingSearchAttributes: missing,
      error: missing.length ? `missing search attributes: ${missing.join(', ')}` : undefined,
    };
  } catch (err) {
    return { ...base, healthy: false, uiHealthy: false, missingSearchAttributes: [], error: (err as Error).message };
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

export async function httpAnswers(url: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.status < 500;
  } catch {
    return false;
  }
}
