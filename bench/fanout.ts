/**
 * The control plane against its floor, on the stack's Temporal server, back to back in one run:
 *   node --require tsx/cjs bench/fanout.ts [targets=1000] [window=100] [rounds=1]
 * (a) bare Temporal: bench/workflows/fanout.ts, a parent with one child per target in a sliding window, each child
 *     one activity on a control queue and one on an execution queue;
 * (b) Regatta: a preview campaign of the same size and window, every run `changed`, the execution plane scripted (no
 *     sandbox), on real control activities (policy decision).
 * Prints both times, the median events per run, the parent's workflow tasks (how many, how long they waited for a
 * worker, how long the worker took), and `ratio regatta / bare: R` per round, alternating the two;
 * with several rounds, the median ratio and its range.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { connectTemporalClient } from '../src/client/connection';
import { connectWorker } from '../src/workers/control-worker';
import {
  describeParentTasks,
  eventsPerChild,
  parentTasks,
  previewCampaign,
  type ParentTasks,
} from './preview-campaign';
import type { FanoutParent } from './workflows/fanout';

const [targets, window, rounds] = [1000, 100, 1].map((fallback, i) => Number(process.argv[i + 2] ?? fallback));
if (![targets, window, rounds].every((n) => Number.isInteger(n) && n >= 1)) {
  throw new Error(
    `usage: bench/fanout.ts [targets] [window] [rounds]; got ${JSON.stringify(process.argv.slice(2))}: expected positive integers`,
  );
}

async function bare(): Promise<{ ms: number; events: number; parent: ParentTasks }> {
  const config = loadConfig();
  const unique = randomUUID().slice(0, 8);
  const queues = { control: `bench-control-${unique}`, execution: `bench-execution-${unique}` };
  const connection = await connectWorker(config.temporal);
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'workflows', 'fanout.ts'),
    logger: new DefaultLogger('WARN'),
  });
  const activities = { decide: async (t: number) => t, execute: async (t: number) => t };
  const workers = await Promise.all([
    Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: queues.control,
      workflowBundle: { code },
      activities,
    }),
    Worker.create({ connection, namespace: config.temporal.namespace, taskQueue: queues.execution, activities }),
  ]);
  const running = workers.map((w) => w.run());
  const client = await connectTemporalClient(config.temporal);
  const started = Date.now();
  const workflowId = `bench-fanout-${unique}`;
  await client.workflow.execute<typeof FanoutParent>('FanoutParent', {
    workflowId,
    taskQueue: queues.control,
    args: [{ targets, window, queues }],
  });
  const ms = Date.now() - started;
  const events = await eventsPerChild(client, `WorkflowType = 'FanoutChild' AND TaskQueue = '${queues.control}'`);
  const parent = await parentTasks(client, workflowId);
  workers.forEach((w) => w.shutdown());
  await Promise.all(running);
  await connection.close();
  return { ms, events, parent };
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  // Rounds alternate bare and Regatta, so a machine that gets busier or quieter over the run weighs on both alike.
  const ratios: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const floor = await bare();
    console.log(
      `round ${round}: bare Temporal fan-out: ${targets} children, window ${window}: ${(floor.ms / 1000).toFixed(1)} s, median ${floor.events} events per child; ${describeParentTasks(floor.parent)}`,
    );
    const ours = await previewCampaign(targets, window);
    console.log(
      `round ${round}: Regatta preview campaign: ${targets} runs, window ${window}: ${(ours.ms / 1000).toFixed(1)} s, median ${ours.events} events per run; ${describeParentTasks(ours.parent)}`,
    );
    ratios.push(ours.ms / floor.ms);
    console.log(`round ${round}: ratio regatta / bare: ${ratios.at(-1)!.toFixed(2)}`);
  }
  const sorted = [...ratios].sort((x, y) => x - y);
  if (rounds > 1)
    console.log(
      `ratio regatta / bare over ${rounds} rounds: median ${sorted[Math.floor(rounds / 2)]!.toFixed(2)}, range ${sorted[0]!.toFixed(2)}-${sorted.at(-1)!.toFixed(2)}`,
    );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
