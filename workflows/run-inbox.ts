/**
 * What reaches a run from outside while it works: a human's approval, publish permits from its campaign and the
 * fleet's governor, and an operator's publish retry. One object holds it, so the run's steps read it by name.
 */
import { condition, log, setHandler } from '@temporalio/workflow';
import type { RunRequest } from '../src/contracts';
import {
  approvalDecidedSignal,
  governorPermitGrantedSignal,
  publishPermitGrantedSignal,
  retryPublishUpdate,
  runStatusQuery,
  type ApprovalDecision,
} from './definitions';
import type { RunJournal } from './run-journal';

export class RunInbox {
  /** The decision a human sent while the run waited for one. */
  approval?: ApprovalDecision;
  /** The campaign granted this run's publish permit. */
  permitGranted = false;
  /** The fleet-wide governor granted this run's publish permit. */
  globalPermitGranted = false;
  /** Publish attempts made so far; a retry answers once the next one has ended. */
  publishAttempts = 0;
  /** An operator asked to publish a failed publish again. */
  retryRequested = false;

  /** Registers the run's query, signals and update on this inbox. */
  constructor(run: RunJournal, request: RunRequest) {
    setHandler(runStatusQuery, () => run.summary());
    setHandler(approvalDecidedSignal, (decision) => {
      if (run.state === 'needs_approval') this.approval = decision;
    });
    setHandler(publishPermitGrantedSignal, () => {
      this.permitGranted = true;
    });
    setHandler(governorPermitGrantedSignal, () => {
      this.globalPermitGranted = true;
    });
    setHandler(
      retryPublishUpdate,
      async ({ by }) => {
        log.info(`publish retry requested by ${by}`);
        const before = this.publishAttempts;
        this.retryRequested = true;
        await condition(() => this.publishAttempts > before && run.state !== 'publishing');
        return run.summary();
      },
      {
        validator: ({ by }) => {
          if (!by) throw new Error('a publish retry must say who asked for it (by)');
          if (run.state !== 'publish_failed') {
            throw new Error(
              `run ${request.runId} is ${run.state}, not publish_failed; only a failed publish can be retried`,
            );
          }
        },
      },
    );
  }
}
