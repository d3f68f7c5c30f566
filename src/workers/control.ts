/** Entry point of the control worker process (`regatta-control`). */
import os from 'node:os';
import { createControlActivities } from '../../activities/control';
import { connectTemporalClient } from '../client/connection';
import { loadConfig } from '../config';
import { controlDeps } from './control-deps';
import { connectWorker, createControlWorker } from './control-worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const connection = await connectWorker(config.temporal);
  const worker = await createControlWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.queues.control,
    tuning: config.controlTuning,
    identity: `control@${os.hostname()}/${process.pid}`,
    activities: createControlActivities({
      ...controlDeps(config),
      governor: {
        client: await connectTemporalClient(config.temporal),
        taskQueue: config.queues.control,
        ...config.publishGovernor,
      },
    }),
  });
  console.log(`control worker polling ${config.queues.control} on ${config.temporal.address}`);
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
