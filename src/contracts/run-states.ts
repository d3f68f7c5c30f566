/**
 * A run's states as plain data, without zod: workflow code reads them from here, because every workflow instance
 * evaluates the modules it imports, and building the contracts' schemas would cost each run tens of milliseconds.
 */
export const RUN_STATES = [
  'pending',
  'policy_denied',
  'executing',
  'no_changes',
  'failed',
  'changed',
  'needs_approval',
  'publishing',
  'published',
  'publish_failed',
  'rejected',
  'cancelled',
  'skipped',
] as const;

/** States after which a run needs nothing more from its campaign (publish_failed may still be retried). */
export const SETTLED_RUN_STATES: readonly (typeof RUN_STATES)[number][] = [
  'policy_denied',
  'no_changes',
  'failed',
  'changed',
  'published',
  'publish_failed',
  'rejected',
  'cancelled',
  'skipped',
];
