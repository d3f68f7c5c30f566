/** Recurring campaigns as Temporal Schedules: each firing runs a ScheduledCampaignWorkflow. */
import {
  Client,
  ScheduleNotFoundError as TemporalScheduleNotFoundError,
  type ScheduleOverlapPolicy,
} from '@temporalio/client';
import { ScheduleSpec, type ScheduledFiringResult, type TaskQueues } from '../contracts';
import { ContractViolationError, parseContract } from '../contracts/validate';
import { scheduledFiringWorkflowId } from '../temporal/ids';
import type { ScheduledCampaignWorkflow } from '../../workflows/scheduled-campaign';
import { InvalidSpecError, ScheduleNotFoundError } from './errors';
import { callerIdentity, withRequester } from './identity';

export interface ScheduleListing {
  scheduleId: string;
  paused: boolean;
  note?: string;
  nextFirings: string[];
  recentFirings: { scheduledAt: string; workflowId: string }[];
}

export class RegattaSchedules {
  constructor(
    private readonly temporal: Client,
    private readonly queues: TaskQueues,
    /** Recorded as the requester of every firing's campaign, over the template's own; else the template's, else the OS user. */
    private readonly requestedBy?: string,
  ) {}

  async create(input: unknown, source?: string): Promise<ScheduleListing> {
    const schedule = validateScheduleSpec(
      withCampaignRequester(input, { explicit: this.requestedBy, fallback: callerIdentity() }),
      source,
    );
    await this.temporal.schedule.create<typeof ScheduledCampaignWorkflow>({
      scheduleId: schedule.id,
      spec: {
        cronExpressions: schedule.cron,
        intervals: schedule.every
          ? [{ every: schedule.every as `${number}${'ms' | 's' | 'm' | 'h' | 'd'}` }]
          : undefined,
      },
      action: {
        type: 'startWorkflow',
        workflowType: 'ScheduledCampaignWorkflow',
        workflowId: scheduledFiringWorkflowId(schedule.id),
        taskQueue: this.queues.control,
        args: [{ schedule, queues: this.queues }],
        staticSummary: `Scheduled firing of ${schedule.id}: ${schedule.campaign.title}`,
      },
      policies: { overlap: schedule.overlap.toUpperCase() as ScheduleOverlapPolicy, catchupWindow: '1 day' },
      state: { paused: schedule.paused, note: schedule.paused ? 'created paused' : undefined },
    });
    return this.describe(schedule.id);
  }

  async list(): Promise<ScheduleListing[]> {
    const ids: string[] = [];
    for await (const summary of this.temporal.schedule.list()) {
      if (summary.action?.type === 'startWorkflow' && summary.action.workflowType === 'ScheduledCampaignWorkflow')
        ids.push(summary.scheduleId);
    }
    return Promise.all(ids.sort().map((id) => this.describe(id)));
  }

  async describe(scheduleId: string): Promise<ScheduleListing> {
    const d = await this.handle(scheduleId, (h) => h.describe());
    return {
      scheduleId,
      paused: d.state.paused,
      note: d.state.note,
      nextFirings: d.info.nextActionTimes.map((t) => t.toISOString()),
      recentFirings: d.info.recentActions.map((a) => ({
        scheduledAt: a.scheduledAt.toISOString(),
        workflowId: a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : '',
      })),
    };
  }

  async pause(scheduleId: string, note = 'paused by an operator'): Promise<void> {
    await this.handle(scheduleId, (h) => h.pause(note));
  }

  async unpause(scheduleId: string, note = 'resumed by an operator'): Promise<void> {
    await this.handle(scheduleId, (h) => h.unpause(note));
  }

  /** Fires now, whatever the calendar says (the overlap policy still applies). */
  async trigger(scheduleId: string): Promise<void> {
    await this.handle(scheduleId, (h) => h.trigger());
  }

  /** Runs the firings the schedule would have had between two moments. */
  async backfill(scheduleId: string, start: Date, end: Date): Promise<void> {
    await this.handle(scheduleId, (h) => h.backfill({ start, end, overlap: 'ALLOW_ALL' }));
  }

  async delete(scheduleId: string): Promise<void> {
    await this.handle(scheduleId, (h) => h.delete());
  }

  /** The outcome of one firing, by its workflow id (as listed in recentFirings). */
  async firingResult(workflowId: string): Promise<ScheduledFiringResult> {
    return this.temporal.workflow.getHandle(workflowId).result();
  }

  private async handle<T>(
    scheduleId: string,
    use: (h: ReturnType<Client['schedule']['getHandle']>) => Promise<T>,
  ): Promise<T> {
    try {
      return await use(this.temporal.schedule.getHandle(scheduleId));
    } catch (err) {
      if (err instanceof TemporalScheduleNotFoundError) throw new ScheduleNotFoundError(scheduleId);
      throw err;
    }
  }
}

function withCampaignRequester(input: unknown, requester: { explicit?: string; fallback: string }): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const schedule = input as Record<string, unknown>;
  return schedule.campaign === undefined
    ? schedule
    : { ...schedule, campaign: withRequester(schedule.campaign, requester) };
}

export function validateScheduleSpec(input: unknown, source?: string): ScheduleSpec {
  try {
    return parseContract(ScheduleSpec, input, 'schedule spec');
  } catch (err) {
    if (err instanceof ContractViolationError) throw new InvalidSpecError(err, source);
    throw err;
  }
}
