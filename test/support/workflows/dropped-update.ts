/**
 * A workflow whose update the server drops: `finish` works about a second in one workflow task, then the workflow
 * ends in that same task. A `poke` signal that arrives meanwhile makes the server fail the task (a workflow cannot end
 * on an event it has not seen), and with it the update it carried, which was never accepted.
 */
import { condition, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';

export const finishUpdate = defineUpdate<string, [{ by: string }]>('finish');
export const pokeSignal = defineSignal('poke');

export interface DroppedUpdateResult {
  finishes: number;
  pokes: number;
}

/** A deterministic CPU loop: workflow time stands still within a task, so the work is counted, not timed. */
export function busyWork(iterations: number): number {
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) % 1_000_003;
  return x;
}

/** `workIterations`: how many turns of busyWork take about a second on the worker's machine. */
export async function droppedUpdateWorkflow(workIterations: number): Promise<DroppedUpdateResult> {
  const state = { finishes: 0, pokes: 0, finished: false };
  setHandler(pokeSignal, () => {
    state.pokes += 1;
  });
  setHandler(finishUpdate, ({ by }) => {
    busyWork(workIterations);
    state.finishes += 1;
    state.finished = true;
    return `finished by ${by} after ${state.pokes} poke(s)`;
  });
  await condition(() => state.finished);
  return { finishes: state.finishes, pokes: state.pokes };
}
