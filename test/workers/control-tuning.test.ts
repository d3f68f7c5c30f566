/** The control worker's tuning comes from the environment, validated, and reaches the Temporal worker it creates. */
import { randomUUID } from 'node:crypto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { connectWorker, createControlWorker } from '../../src/workers/control-worker';
import { workflowBundle } from '../support/workflow-bundle';

it('applies the slots, pollers and sticky cache the environment sets, and the SDK defaults for the rest', async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Installed already by an earlier test file in this process.
  }
  const config = loadConfig({ ...process.env, REGATTA_CACHED_WORKFLOWS: '37', REGATTA_WORKFLOW_POLLERS: '3' });
  expect(config.controlTuning).toEqual({
    workflowTaskSlots: undefined,
    workflowPollers: 3,
    cachedWorkflows: 37,
    activitySlots: undefined,
  });
  const connection = await connectWorker(config.temporal);
  try {
    const worker = await createControlWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: `test-tuning-${randomUUID().slice(0, 8)}`,
      workflowBundle: await workflowBundle(),
      activities: {},
      tuning: config.controlTuning,
    });
    expect(worker.options.maxCachedWorkflows).toBe(37);
    await worker.runUntil(Promise.resolve());
    const untuned = await createControlWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: `test-tuning-${randomUUID().slice(0, 8)}`,
      workflowBundle: await workflowBundle(),
      activities: {},
      tuning: loadConfig({ ...process.env, REGATTA_CACHED_WORKFLOWS: undefined }).controlTuning,
    });
    expect(untuned.options.maxCachedWorkflows).not.toBe(37);
    await untuned.runUntil(Promise.resolve());
  } finally {
    await connection.close();
  }
});

it.each([
  ['REGATTA_WORKFLOW_TASK_SLOTS', '0', 'workflow tasks the control worker runs at once'],
  ['REGATTA_WORKFLOW_POLLERS', 'two', 'concurrent workflow task polls of the control worker'],
  ['REGATTA_CACHED_WORKFLOWS', '-5', 'workflows the control worker keeps in its sticky cache'],
  ['REGATTA_CONTROL_ACTIVITY_SLOTS', '1.5', 'control activities the control worker runs at once'],
])('refuses %s=%j, naming the variable, the value and what it expects', (name, value, what) => {
  expect(() => loadConfig({ [name]: value })).toThrow(
    `${name}: got ${JSON.stringify(value)}; expected a positive integer: ${what}`,
  );
});
