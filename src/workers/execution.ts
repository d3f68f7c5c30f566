/**
 * Entry point of an execution worker process (`regatta-execution`); run any number of them, each beside a Docker engine.
 *
 * Shutdown: on SIGINT/SIGTERM the SDK stops polling and cancels in-flight attempts; each removes its container
 * and reports the cancellation, so Temporal retries the run on another worker at once instead of waiting for
 * the lease to lapse.
 *
 * Capacity: it takes at most REGATTA_EXECUTION_SLOTS runs at once, by default what its engine's host can hold
 * (execution-slots.ts); the startup log and `regatta dev status` say how many and where the number came from.
 *
 * Engine outages: while the Docker engine does not answer, the worker polls nothing (runs wait in the queue, not
 * fail), says so in its state file for `regatta dev status`, and when the engine is back removes the sandboxes the
 * outage killed before it polls again.
 */
import os from 'node:os';
import { modelProviderFromEnv } from '../agent/model-provider';
import { artifactStoreFor } from '../artifacts';
import { loadConfig } from '../config';
import { dockerClient, reapContainers } from '../sandbox/driver';
import { reapContainersOfOutage } from '../sandbox/engine';
import { networkProfiles, sandboxRegistry } from '../sandbox/egress';
import { connectWorker } from './control-worker';
import { runWhileEngineAnswers, workspaceRootFor } from './execution-worker';
import { describeExecutionSlots, engineHostCapacity, executionSlots } from './execution-slots';
import { pruneDeadWorkerStates, removeWorkerState, writeWorkerState } from './worker-state';

const REAP_EVERY_MS = 60_000;
/** Containers without a deadline label (made by older workers) are reaped once nothing could still run this long. */
const UNLABELLED_MAX_AGE_MS = 24 * 3600_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const docker = dockerClient();
  const identity = `execution@${os.hostname()}/${process.pid}`;
  const connection = await connectWorker(config.temporal);
  const network = networkProfiles(docker, sandboxRegistry(), config.sandboxNetwork);
  const slots = executionSlots(config.executionSlots, await engineHostCapacity(docker));
  let polling = false;
  pruneDeadWorkerStates(config.home);

  // Sandboxes of attempts whose worker died are removed once their own deadline has passed, by any worker on this engine.
  const reap = () =>
    Promise.all([
      reapContainers(docker, { expired: true }),
      reapContainers(docker, { olderThanMs: UNLABELLED_MAX_AGE_MS }),
    ])
      .then(([expired, old]) => {
        const count = new Set([...expired, ...old]).size;
        if (count > 0) console.log(`reaped ${count} sandbox container(s) of attempts that are over`);
      })
      .catch((err: Error) => console.error(`reaping sandbox containers failed: ${err.message}`));
  const reaper = setInterval(() => {
    if (polling) void reap();
  }, REAP_EVERY_MS);
  const shutdown = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.log(`${signal}: ${identity} stops polling and hands its running attempts back to Temporal`);
      shutdown.abort();
    });
  }

  try {
    await runWhileEngineAnswers(
      {
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.queues.execution,
        identity,
        runSlots: slots.slots,
        deps: {
          docker,
          artifacts: artifactStoreFor(config),
          image: config.sandboxImage,
          workspaceRoot: workspaceRootFor(config.home),
          model: modelProviderFromEnv(),
          networkFor: network.networkFor,
        },
      },
      {
        signal: shutdown.signal,
        onState: (state, since, reason) => {
          const wasPolling = polling;
          polling = state === 'polling';
          writeWorkerState(config.home, {
            state,
            since: since.toISOString(),
            reason,
            identity,
            taskQueue: config.queues.execution,
            pid: process.pid,
            slots,
          });
          if (polling) {
            console.log(
              `execution worker ${identity} polling ${config.queues.execution} on ${config.temporal.address} (namespace ${config.temporal.namespace}), taking ${describeExecutionSlots(slots)}`,
            );
            if (!wasPolling) void reap();
          } else
            console.error(
              `execution worker ${identity} paused since ${since.toISOString()}: ${reason}; it takes no runs until the engine answers`,
            );
        },
        onEngineBack: async (outageStartedMs) => {
          const reaped = await reapContainersOfOutage(docker, outageStartedMs).catch((err: Error) => {
            console.error(`reaping the sandboxes the engine outage left failed: ${err.message}`);
            return [];
          });
          console.log(`the Docker engine answers again; reaped ${reaped.length} sandbox container(s) the outage left`);
        },
      },
    );
  } finally {
    clearInterval(reaper);
    removeWorkerState(config.home, process.pid);
    await network.close();
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
