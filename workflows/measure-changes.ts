/**
 * MeasureChangesWorkflow (`measure/<purpose>/<uuid>`): what the forge says now of some groups of change requests (a
 * campaign's waves), for `regatta report` and the SDK. Clients hold no forge credentials; the control worker does, so
 * a report asks it through this short workflow, a batch of 100 per activity.
 */
import type { TaskQueues, WaveChange, WaveFigures } from '../src/contracts';
import { measureChanges } from './waves';

export interface MeasureChangesInput {
  queues: Pick<TaskQueues, 'control'>;
  groups: WaveChange[][];
}

export async function MeasureChangesWorkflow(input: MeasureChangesInput): Promise<WaveFigures[]> {
  const figures: WaveFigures[] = [];
  for (const changes of input.groups) figures.push(await measureChanges(input.queues, changes));
  return figures;
}
