/** Failure types that cross from activities to workflows: spelled here once, read by both (workflow-safe, no I/O). */

/** An execution attempt whose Docker engine stopped answering; RunWorkflow waits it out for `dockerEngineWaitMs`. */
export const DOCKER_ENGINE_UNAVAILABLE = 'DockerEngineUnavailable';

/** A change-lifecycle activity on a control worker that cannot read runs (no Temporal client): no retry gives it one. */
export const LIFECYCLE_UNAVAILABLE = 'LifecycleUnavailable';

/**
 * Failure types that no retry can fix (a value that broke its contract breaks it again), for every workflow's
 * `retry.nonRetryableErrorTypes`. Temporal records an activity's thrown error by its class name as the failure type.
 */
export const NON_RETRYABLE_ERROR_TYPES: string[] = [
  'ContractViolationError',
  // Its name before the rename, still thrown by activity workers deployed earlier; kept until 2026-12-18 (two weeks).
  'ContractViolation',
];
