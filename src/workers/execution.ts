/**
 * Entry point of an execution worker process (`regatta-execution`); run any number of them, each beside a Docker engine.
 *
 * Shutdown: on SIGINT/SIGTERM the SDK stops polling and cancels in-flight attempts; each removes its container
 * and reports the cancellation, so Temporal retries the run on another worker at once instead of waiting for
 * the lease to lapse.
 */
import os from 'node:os';
import { modelProviderFromEnv } from '../agent/model-provider';
import { artifactStoreFor } from '../artifacts';
import { loadConfig } from '../config';
import { dockerClient, reapContainers } from '../sandbox/driver';
import { networkProfiles, sandboxRegistry } from '../sandbox/egress';
import { caBundleFromEnv } from '../registry/ca-bundle';
import { connectWorker } from './control-worker';
import { createExecutionWorker, workspaceRootFor } from './execution-worker';

const REAP_EVERY_MS = 60_000;
/** Containers without a deadline label (made by older workers) are reaped once nothing could still run this long. */
const UNLABELLED_MAX_AGE_MS = 24 * 3600_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const docker = dockerClient();
  const identity = `execution@${os.hostname()}/${process.pid}`;
  const connection = await connectWorker(config.temporal);
  const network = networkProfiles(docker, sandboxRegistry());
  const worker = await createExecutionWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.queues.execution,
    identity,
    deps: { docker, artifacts: artifactStoreFor(config), image: config.sandboxImage, workspaceRoot: workspaceRootFor(config.home), model: modelProviderFromEnv(), networkFor: network.networkFor, caBundle: caBundleFromEnv() },
  });

  // Sandboxes of attempts whose worker died are removed once their own deadline has passed, by any worker on this engine.
  const reap = () =>
    Promise.all([reapContainers(docker, { expired: true }), reapContainers(docker, { olderThanMs: UNLABELLED_MAX_AGE_MS })])
      .then(([expired, old]) => {
        const count = new Set([...expired, ...old]).size;
        if (count > 0) console.log(`reaped ${count} sandbox container(s) of attempts that are over`);
      })
      .catch((err: Error) => console.error(`reaping sandbox containers failed: ${err.message}`));
  await reap();
  const reaper = setInterval(() => void reap(), REAP_EVERY_MS);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => console.log(`${signal}: ${identity} stops polling and hands its running attempts back to Temporal`));
  }

  console.log(`execution worker ${identity} polling ${config.queues.execution} on ${config.temporal.address} (namespace ${config.temporal.namespace})`);
  try {
    await worker.run();
  } finally {
    clearInterval(reaper);
    await network.close();
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
