/** Entry point of an execution worker process (`regatta-execution`); run any number of them, each beside a Docker engine. */
import os from 'node:os';
import { modelProviderFromEnv } from '../agent/model-provider';
import { artifactStoreFor } from '../artifacts';
import { loadConfig } from '../config';
import { dockerClient, reapContainers } from '../sandbox/driver';
import { connectWorker } from './control-worker';
import { createExecutionWorker, workspaceRootFor } from './execution-worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const docker = dockerClient();
  const identity = `execution@${os.hostname()}/${process.pid}`;
  const connection = await connectWorker(config.temporal);
  const worker = await createExecutionWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.queues.execution,
    identity,
    deps: { docker, artifacts: artifactStoreFor(config), image: config.sandboxImage, workspaceRoot: workspaceRootFor(config.home), model: modelProviderFromEnv() },
  });
  // Sandboxes left by attempts that crashed are removed once their lease can no longer be alive.
  const reaper = setInterval(() => void reapContainers(docker, { olderThanMs: 60 * 60_000 }).catch(() => undefined), 5 * 60_000);
  console.log(`execution worker ${identity} polling ${config.queues.execution} on ${config.temporal.address}`);
  await worker.run();
  clearInterval(reaper);
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
