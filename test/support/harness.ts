/**
 * Starts Regatta's two workers in the test process, each on a task queue unique to the test, against the
 * real Temporal dev server, and a RegattaClient that talks to them.
 */
import { randomUUID } from 'node:crypto';
import { DefaultLogger, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { RegattaClient } from '../../src/client';
import { artifactStoreFor } from '../../src/artifacts';
import { loadConfig } from '../../src/config';
import { dockerClient } from '../../src/sandbox/driver';
import { caBundleFromEnv } from '../../src/registry/ca-bundle';
import { networkProfiles } from '../../src/sandbox/egress';
import { readStackInfo } from './stack';
import { executionActivities, workspaceRootFor } from '../../src/workers/execution-worker';
import { connectTemporalClient } from '../../src/client/connection';
import { connectWorker, createControlWorker } from '../../src/workers/control-worker';
import { workflowBundle } from './workflow-bundle';

export interface RegattaHarness {
  client: RegattaClient;
  queues: { control: string; execution: string };
  /** A unique suffix for campaign ids, so reruns of the suite never collide. */
  unique: string;
  /** Starts one more execution worker on the same queue (e.g. the second worker of a failover test). */
  addExecutionWorker(activities: object, identity: string): Promise<{ stop(): Promise<void> }>;
  shutdown(): Promise<void>;
}

export interface HarnessOptions {
  controlActivities: object;
  executionActivities?: object;
  /** Another checkout's workflows (e.g. a release recording its histories); the shared bundle of this checkout's when absent. */
  workflowBundle?: WorkflowBundleOption;
}

function quietRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Installed already by an earlier test file in this process.
  }
}

export async function startHarness(options: HarnessOptions): Promise<RegattaHarness> {
  quietRuntime();
  const config = loadConfig();
  const unique = randomUUID().slice(0, 8);
  const queues = { control: `test-control-${unique}`, execution: `test-execution-${unique}` };
  const connection = await connectWorker(config.temporal);
  const running: { worker: Worker; done: Promise<void> }[] = [];
  const run = (worker: Worker) => {
    const entry = { worker, done: worker.run() };
    running.push(entry);
    return entry;
  };

  const control = await createControlWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: queues.control,
    workflowBundle: options.workflowBundle ?? (await workflowBundle()),
    activities: options.controlActivities,
    tuning: config.controlTuning,
    identity: `test-control-${unique}`,
  });
  run(control);

  const addExecutionWorker = async (activities: object, identity: string) => {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: queues.execution,
      activities,
      identity,
      // Cancellation reaches an activity with its next heartbeat; do not let the SDK hold heartbeats back for long.
      maxHeartbeatThrottleInterval: '1 second',
    });
    const entry = run(worker);
    return {
      stop: async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await entry.done;
      },
    };
  };
  if (options.executionActivities) await addExecutionWorker(options.executionActivities, `test-execution-${unique}`);

  const temporal = await connectTemporalClient(config.temporal);
  const client = new RegattaClient(temporal, {
    queues,
    uiUrl: config.temporal.uiUrl,
    namespace: config.temporal.namespace,
  });

  return {
    client,
    queues,
    unique,
    addExecutionWorker,
    shutdown: async () => {
      for (const { worker } of running) if (worker.getState() === 'RUNNING') worker.shutdown();
      await Promise.allSettled(running.map((r) => r.done));
      await client.close();
      await connection.close();
    },
  };
}

/** The real execution plane for a test: Docker sandboxes from the stack's image, the configured artifact store. */
/** `registryUrl`: a registry mirror of the test's own instead of the stack's. */
export function realExecutionActivities(registryUrl = readStackInfo().registryMirror.url) {
  const config = loadConfig();
  const docker = dockerClient();
  // The production path: sandboxes on registry_only reach the host's read-only mirror, and trust the host's CA bundle.
  const network = networkProfiles(docker, { registryUrl });
  return executionActivities({
    docker,
    artifacts: artifactStoreFor(config),
    image: config.sandboxImage,
    workspaceRoot: workspaceRootFor(config.home),
    networkFor: network.networkFor,
    caBundle: caBundleFromEnv(),
  });
}
