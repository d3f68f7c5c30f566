/** Errors the SDK raises; each names what failed, on what input, and what the caller can do. */
import { ContractViolationError } from '../contracts/validate';

export { ContractViolationError };

/** Thrown when a campaign or schedule spec does not match its contract; nothing was started or created. */
export class InvalidSpecError extends ContractViolationError {
  constructor(violation: ContractViolationError, source?: string) {
    super(source ? `${violation.subject} (${source})` : violation.subject, violation.issues);
    this.name = 'InvalidSpecError';
  }
}

export class CampaignNotFoundError extends Error {
  constructor(readonly campaignId: string) {
    super(`campaign "${campaignId}" was not found; list campaigns with \`regatta campaign list\``);
    this.name = 'CampaignNotFoundError';
  }
}

export class RunNotFoundError extends Error {
  constructor(readonly runId: string) {
    super(`run "${runId}" was not found; list runs with \`regatta runs list --campaign <id>\``);
    this.name = 'RunNotFoundError';
  }
}

/** Thrown when a schedule id names no Temporal Schedule (describe, pause, unpause, trigger, backfill, delete). */
export class ScheduleNotFoundError extends Error {
  constructor(readonly scheduleId: string) {
    super(`schedule "${scheduleId}" was not found; list schedules with \`regatta schedule list\``);
    this.name = 'ScheduleNotFoundError';
  }
}

/** An approval, rejection or publish retry for a run that is not in the state that allows it. */
export class RunNotAwaitingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunNotAwaitingError';
  }
}

/** A campaign id already started with another spec: starting it again would silently answer for the first one. */
export class CampaignSpecConflictError extends Error {
  constructor(readonly campaignId: string) {
    super(
      `campaign "${campaignId}" already exists with a different spec; the id is the idempotency key, so starting it again ` +
        'with other targets, steps or settings is refused. Give the new campaign its own id, or start the same spec to get the existing campaign',
    );
    this.name = 'CampaignSpecConflictError';
  }
}
