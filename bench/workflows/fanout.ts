/**
 * The floor a campaign is measured against: bare Temporal doing the same fan-out shape. A parent starts one child
 * per target in a sliding window; each child runs one activity on the control queue and one on the execution queue,
 * as a Regatta run decides and then executes. Nothing else: no ledger, no reports, no permits.
 */
import { continueAsNew, proxyActivities, startChild, ParentClosePolicy, workflowInfo } from '@temporalio/workflow';

export interface FanoutInput {
  targets: number;
  window: number;
  queues: { control: string; execution: string };
  /** Targets started by earlier executions (the parent continues as new like a campaign). */
  startedBefore?: number;
}

interface BenchActivities {
  decide(target: number): Promise<number>;
  execute(target: number): Promise<number>;
}

export async function FanoutChild(input: { target: number; queues: FanoutInput['queues'] }): Promise<number> {
  const { decide } = proxyActivities<BenchActivities>({
    taskQueue: input.queues.control,
    startToCloseTimeout: '1 minute',
  });
  const { execute } = proxyActivities<BenchActivities>({
    taskQueue: input.queues.execution,
    startToCloseTimeout: '1 minute',
  });
  return execute(await decide(input.target));
}

export async function FanoutParent(input: FanoutInput): Promise<number> {
  let next = input.startedBefore ?? 0;
  const running = new Set<Promise<unknown>>();
  while (next < input.targets) {
    if (workflowInfo().continueAsNewSuggested && running.size === 0) {
      await continueAsNew<typeof FanoutParent>({ ...input, startedBefore: next });
    }
    if (running.size >= input.window) {
      await Promise.race(running);
      continue;
    }
    const target = next++;
    // Not awaited one by one: a window of children starts in one workflow task, as a campaign's runs do.
    const done: Promise<unknown> = startChild(FanoutChild, {
      workflowId: `${workflowInfo().workflowId}/${target}`,
      args: [{ target, queues: input.queues }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    })
      .then((child) => child.result())
      .finally(() => running.delete(done));
    running.add(done);
  }
  await Promise.all(running);
  return next;
}
