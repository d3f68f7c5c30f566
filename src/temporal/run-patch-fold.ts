/**
 * The fold of RunWorkflow's patches that runs requested today carry (`RunRequest.foldedPatches`). Workflow code and
 * activities both name it: a campaign sets it on the runs it starts, the change tracker's re-execution on the run it
 * starts again. A later patch joins the next fold, under a new name; this one never changes what it holds.
 */
export const RUN_PATCH_FOLD = 'run-patches-2026-12-07';
