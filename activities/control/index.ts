/** The control plane's activities: decisions and publishing, never repository code. */
import { createDecidePolicy, type DecisionRecorder } from './decide-policy';

export interface ControlActivityDeps {
  /** The policy bundle file; the default bundle when absent. */
  policyFile?: string;
  recorder?: DecisionRecorder;
}

export function createControlActivities(deps: ControlActivityDeps) {
  return {
    decidePolicy: createDecidePolicy(deps.policyFile, deps.recorder),
  };
}
