/** The control plane's workflows; the worker's bundle starts here. */
export { CampaignWorkflow } from './campaign';
export { ChangeTrackerWorkflow } from './change-tracker';
export { MeasureChangesWorkflow } from './measure-changes';
export { PublishGovernorWorkflow } from './publish-governor';
export { RebaseGovernorWorkflow } from './rebase-governor';
export { RunWorkflow } from './run';
export { ScheduledCampaignWorkflow } from './scheduled-campaign';
