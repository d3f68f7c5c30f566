/**
 * MeasureChangesWorkflow (`measure/<purpose>/<uuid>`): what the forge says now of some groups of change requests (a
 * campaign's waves, or the change requests its tracker holds, with stored pages read here), for `regatta report` and
 * the SDK. Clients hold no forge credentials; the control worker does, so a report asks it through this short
 * workflow, a batch of 100 per activity.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { TargetPageRef, TaskQueues, WaveChange, WaveFigures } from '../src/contracts';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/temporal/failure-types';
import type { TrackingActivities } from './activity-types';
import { toMeasured } from './change-tracker';
import { measureChanges } from './waves';

export interface MeasureChangesInput {
  queues: Pick<TaskQueues, 'control'>;
  groups: WaveChange[][];
  /** Stored pages of tracked change requests: each measured as one more group, after `groups`. */
  pages?: TargetPageRef[];
}

export async function MeasureChangesWorkflow(input: MeasureChangesInput): Promise<WaveFigures[]> {
  const figures: WaveFigures[] = [];
  for (const changes of input.groups) figures.push(await measureChanges(input.queues, changes));
  if (!input.pages?.length) return figures;
  const pages = proxyActivities<Pick<TrackingActivities, 'readTrackedChanges'>>({
    taskQueue: input.queues.control,
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
  });
  for (const ref of input.pages)
    figures.push(
      await measureChanges(
        input.queues,
        (await pages.readTrackedChanges(ref)).map((c) => toMeasured(c)),
      ),
    );
  return figures;
}
