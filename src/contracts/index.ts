/**
 * The contracts both planes speak: every payload that crosses a workflow, activity or client
 * boundary is one of these schemas. Workflow code imports this module type-only (its values from the zod-free
 * run-states.ts and hash.ts), so it stays free of I/O. One file a subject; import from here, not from the files.
 */
export * from './common';
export * from './policy';
export * from './audit';
export * from './execution';
export * from './run';
export * from './campaign';
export * from './rollout';
export * from './publishing';
export * from './schedule';
