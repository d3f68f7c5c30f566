/**
 * `regatta dev up --cluster`: four Temporal services as separate processes on PostgreSQL, a workflow with an
 * activity on them, advanced visibility answering a CampaignId query, and history kept across down and up.
 * Runs in `npm run test:cluster` (named *.cluster-test.ts, so `npm test` does not match it), whose global setup brought
 * the cluster up and pointed TEMPORAL_ADDRESS at it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { clusterServiceName, clusterStatus, ensureCluster, stopCluster } from '../../src/dev/cluster';
import { CLUSTER_NAMESPACE, CLUSTER_SERVICES, clusterConfig } from '../../src/dev/cluster-config';
import { runningService } from '../../src/dev/processes';
import { CampaignIdKey } from '../../src/temporal/search-attributes';
import { eventually } from '../support/eventually';

const config = loadConfig();
const cluster = clusterConfig(config.home);
const unique = randomUUID().slice(0, 8);
const taskQueue = `cluster-test-${unique}`;

/** A workflow with one activity, and one that waits for a signal first; bundled from node_modules' cache so it resolves the SDK. */
const WORKFLOWS = `
const { proxyActivities, defineSignal, setHandler, condition } = require('@temporalio/workflow');
const { greet } = proxyActivities({ startToCloseTimeout: '30s' });
exports.greetWorkflow = async (name) => greet(name);
exports.releasedWorkflow = async () => {
  let name;
  setHandler(defineSignal('release'), (value) => { name = value; });
  await condition(() => name !== undefined);
  return greet(name);
};
`;
const activities = { greet: async (name: string) => `hello, ${name}` };

let connection: Connection;
let client: Client;
let workflowBundle: { code: string };

function servicePids(): Record<string, number | undefined> {
  return Object.fromEntries(
    CLUSTER_SERVICES.map((service) => [service, runningService(cluster.root, clusterServiceName(service))?.pid]),
  );
}

async function withWorker<T>(use: () => Promise<T>): Promise<T> {
  const workerConnection = await NativeConnection.connect({ address: cluster.frontendAddress });
  const worker = await Worker.create({
    connection: workerConnection,
    namespace: CLUSTER_NAMESPACE,
    taskQueue,
    workflowBundle,
    activities,
  });
  try {
    return await worker.runUntil(use());
  } finally {
    await workerConnection.close();
  }
}

describe('the local Temporal cluster', () => {
  it('is the Temporal this suite talks to', () => {
    expect(config.temporal.address).toBe(cluster.frontendAddress);
  });

  beforeAll(async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // Installed by an earlier test file in this process.
    }
    const dir = path.join(config.projectRoot, 'node_modules', '.cache', 'regatta-cluster-test');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'workflows.js'), WORKFLOWS);
    const noop = () => undefined;
    const logger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
    workflowBundle = await bundleWorkflowCode({ workflowsPath: path.join(dir, 'workflows.js'), logger });
    connection = await Connection.connect({ address: cluster.frontendAddress });
    client = new Client({ connection, namespace: CLUSTER_NAMESPACE });
  });
  afterAll(async () => {
    await connection?.close();
  });

  test('runs frontend, history, matching and worker as four processes of their own', () => {
    const pids = servicePids();
    expect(new Set(Object.values(pids)).size).toBe(4);
    for (const service of CLUSTER_SERVICES) {
      const argv = fs.readFileSync(`/proc/${pids[service]}/cmdline`, 'utf8').split('\0');
      expect(argv[argv.indexOf('--service') + 1]).toBe(service);
    }
  });

  test('reports every service and the database healthy', async () => {
    const status = await clusterStatus(config.home);
    expect(status.components.map((c) => [c.name, c.healthy])).toEqual(
      expect.arrayContaining([
        ['postgresql', true],
        ['frontend', true],
        ['history', true],
        ['matching', true],
        ['worker', true],
      ]),
    );
    expect(status.healthy).toBe(true);
  });

  test('a second up keeps the running services and returns fast', async () => {
    const before = servicePids();
    const started = Date.now();
    await ensureCluster(config.home);
    expect(servicePids()).toEqual(before);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  test('runs a workflow with an activity, and a CampaignId query finds exactly it', async () => {
    const campaignId = `cluster-${unique}`;
    const workflowId = `greet-${unique}`;
    const result = await withWorker(async () => {
      const handle = await client.workflow.start('greetWorkflow', {
        taskQueue,
        workflowId,
        args: ['cluster'],
        typedSearchAttributes: [{ key: CampaignIdKey, value: campaignId }],
      });
      return handle.result();
    });
    expect(result).toBe('hello, cluster');
    const found = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const execution of client.workflow.list({ query: `CampaignId = '${campaignId}'` }))
          ids.push(execution.workflowId);
        return ids;
      },
      (ids) => ids.length > 0,
      30_000,
    );
    expect(found).toEqual([workflowId]);
  });

  test('keeps history across down and up: a workflow waiting on a signal completes after the restart', async () => {
    const workflowId = `released-${unique}`;
    await withWorker(async () => {
      const handle = await client.workflow.start('releasedWorkflow', { taskQueue, workflowId });
      await eventually(
        async () => (await handle.fetchHistory()).events?.length ?? 0,
        (events) => events >= 4,
        30_000,
      );
    });
    await connection.close();
    const stopped = await stopCluster(config.home);
    expect(stopped).toEqual(expect.arrayContaining(CLUSTER_SERVICES.map(clusterServiceName)));
    await ensureCluster(config.home);
    connection = await Connection.connect({ address: cluster.frontendAddress });
    client = new Client({ connection, namespace: CLUSTER_NAMESPACE });
    const result = await withWorker(async () => {
      const handle = client.workflow.getHandle(workflowId);
      await handle.signal('release', 'again');
      return handle.result();
    });
    expect(result).toBe('hello, again');
  });
});
