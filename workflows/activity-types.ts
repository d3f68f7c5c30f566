/**
 * The activities workflows call, typed from the factories that implement them. Type-only imports: no activity code
 * (and none of its Node modules) loads in the workflow sandbox, and a changed signature fails `tsc` at every caller.
 */
import type { createControlActivities } from '../activities/control';
import type { createGovernorActivities } from '../activities/control/governor';
import type { createExecutionActivities } from '../activities/execution/execute-run';
import type { surveyDependency } from '../activities/survey/survey-dependency';

/** The control worker's activities; publishing and governor ones exist only where it has their deps, hence `Required`. */
export type ControlActivities = Required<ReturnType<typeof createControlActivities>>;

/** Present only where the control worker runs a fleet-wide governor. */
export type GovernorActivities = ReturnType<typeof createGovernorActivities>;

/** Only large campaigns read stored target pages and store published ones. */
export type PageActivities = Pick<ControlActivities, 'readTargetPage' | 'storeTrackedChanges'>;

/** What the change tracker polls, on the control worker. */
export type TrackingActivities = Pick<
  ControlActivities,
  'changeRequestStates' | 'changeRequestSummaries' | 'readTrackedChanges'
>;

/** What a campaign's rollout measures between waves, on the control worker. */
export type WaveGateActivities = Pick<ControlActivities, 'measureWaveGate'>;

/** What the change lifecycle does to each tracked change request, on the control worker. */
export type LifecycleActivities = Pick<
  ControlActivities,
  | 'changeBaseOf'
  | 'inspectChangeBranches'
  | 'rebaseChangeRequest'
  | 'reexecutionRequest'
  | 'automergeChangeRequest'
  | 'closeSupersededChangeRequests'
  | 'findReverts'
  | 'changeRequestStates'
  | 'takeRebasePermit'
  | 'returnRebasePermit'
>;

/** What a desired-state firing asks the forge, on the control worker. */
export type ForgeQueries = Pick<ControlActivities, 'reposWithOpenChangeRequest'>;

/** The execution worker's sandboxed run. */
export type ExecutionActivities = ReturnType<typeof createExecutionActivities>;

/** Reading manifests is reading repository content, so the survey runs on the execution worker. */
export type SurveyActivities = { surveyDependency: typeof surveyDependency };
