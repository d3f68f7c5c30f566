/**
 * ScheduledCampaignWorkflow: one firing of a recurring desired-state campaign. It surveys the fleet, counts the
 * repositories already compliant or with an open change request, and starts a campaign for the rest only.
 */
import { executeChild, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type {
  CampaignSpec,
  DependencySurvey,
  DesiredDependency,
  ScheduledFiringResult,
  ScheduleSpec,
  TaskQueues,
  Target,
} from '../src/contracts';
import { satisfiesAtLeast } from '../src/desired-state/version';
import { campaignWorkflowId, changeBranch } from '../src/temporal/ids';
import { CampaignIdKey, TaskTypeKey } from '../src/temporal/search-attributes';
import type { ForgeQueries, SurveyActivities } from './activity-types';
import { CampaignWorkflow } from './campaign';

export interface ScheduledCampaignInput {
  schedule: ScheduleSpec;
  queues: TaskQueues;
}

export async function ScheduledCampaignWorkflow(input: ScheduledCampaignInput): Promise<ScheduledFiringResult> {
  const { schedule } = input;
  const campaignId = firingCampaignId(schedule.id);
  const classified = schedule.desired ? await classifyFleet(input) : undefined;
  const targets = classified?.needsChange ?? schedule.campaign.targets;
  const outcome: ScheduledFiringResult = {
    campaignId,
    compliant: classified?.compliant ?? [],
    notApplicable: classified?.notApplicable ?? [],
    withOpenChange: classified?.withOpenChange ?? [],
    unknown: classified?.unknown ?? [],
    started: targets.map((t) => t.repo),
  };
  if (targets.length === 0) return outcome;

  const spec: CampaignSpec = {
    ...schedule.campaign,
    id: campaignId,
    targets,
    changeKey: schedule.campaign.changeKey ?? schedule.id,
  };
  outcome.result = await executeChild(CampaignWorkflow, {
    workflowId: campaignWorkflowId(campaignId),
    taskQueue: input.queues.control,
    args: [{ spec, queues: input.queues, requestedAt: new Date().toISOString() }],
    typedSearchAttributes: [
      { key: CampaignIdKey, value: campaignId },
      { key: TaskTypeKey, value: spec.taskType },
    ],
    staticSummary: `Scheduled campaign ${campaignId}: ${spec.title}`,
    staticDetails: `firing of schedule \`${schedule.id}\`: ${targets.length} repositories need the change, ${outcome.compliant.length} already compliant, ${outcome.withOpenChange.length} with an open change request`,
  });
  return outcome;
}

/** Firings recorded before the survey went a batch per activity replay the single survey of the whole fleet. */
const SURVEY_BATCHES_PATCH = 'survey-batches';
/** Repositories per activity: one activity's answer stays small, and a lost worker costs one batch. */
const SURVEY_BATCH = 100;

/** `read` over the targets a batch per activity, in order; one batch (and one activity) for a fleet of up to 100. */
async function inBatches<R>(targets: Target[], read: (batch: Target[]) => Promise<R[]>): Promise<R[]> {
  const found: R[] = [];
  for (let i = 0; i < targets.length; i += SURVEY_BATCH)
    found.push(...(await read(targets.slice(i, i + SURVEY_BATCH))));
  return found;
}

/** The survey's answer for one repository: one entry per desired dependency, matched by ecosystem. */
type RepoSurvey = { desired: DesiredDependency; entry: DependencySurvey[number] | undefined }[];

async function classifyFleet(input: ScheduledCampaignInput) {
  const desired = input.schedule.desired!;
  const targets = input.schedule.campaign.targets;
  const packages = Array.isArray(desired) ? desired.map((d) => d.package).join(', ') : desired.package;
  // Reading manifests is reading repository content, so it happens on the execution plane.
  const { surveyDependency } = proxyActivities<SurveyActivities>({
    taskQueue: input.queues.execution,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '1 minute',
    summary: `survey ${packages} across ${targets.length} repositories`,
  });
  const { reposWithOpenChangeRequest } = proxyActivities<ForgeQueries>({
    taskQueue: input.queues.control,
    startToCloseTimeout: '5 minutes',
  });

  let surveyOf: (repo: string) => RepoSurvey;
  if (Array.isArray(desired)) {
    // A mixed fleet's desired state (new with lists, so no recorded history asks otherwise): one survey for all.
    const dependencies = desired.map((d) => ({
      package: d.package,
      ...(d.ecosystem ? { ecosystem: d.ecosystem } : {}),
    }));
    const survey = await inBatches(targets, (batch) => surveyDependency({ targets: batch, dependencies }));
    const byRepoAndEcosystem = new Map(survey.map((entry) => [`${entry.repo} ${entry.ecosystem ?? 'npm'}`, entry]));
    surveyOf = (repo) =>
      desired.map((d) => ({ desired: d, entry: byRepoAndEcosystem.get(`${repo} ${d.ecosystem ?? 'npm'}`) }));
  } else {
    // An ecosystem is named only by schedules that have one, so older firings ask the survey exactly what they did.
    const asked = { package: desired.package, ...(desired.ecosystem ? { ecosystem: desired.ecosystem } : {}) };
    const survey = patched(SURVEY_BATCHES_PATCH)
      ? await inBatches(targets, (batch) => surveyDependency({ targets: batch, ...asked }))
      : await surveyDependency({ targets, ...asked });
    const byRepo = new Map(survey.map((entry) => [entry.repo, entry]));
    surveyOf = (repo) => [{ desired, entry: byRepo.get(repo) }];
  }
  const compliant: string[] = [];
  const notApplicable: string[] = [];
  const unknown: string[] = [];
  const drifted: Target[] = [];
  for (const target of targets) {
    const found = surveyOf(target.repo);
    // A repository is held to the desired dependencies its manifests declare; one it declares none of does not apply.
    const declared = found.filter(({ entry }) => entry?.declared || entry?.installed);
    if (found.some(({ entry }) => !entry || entry.error)) unknown.push(target.repo);
    else if (declared.length === 0) notApplicable.push(target.repo);
    else if (declared.every(({ desired: d, entry }) => satisfiesAtLeast(entry!, d.atLeast)))
      compliant.push(target.repo);
    else drifted.push(target);
  }
  const branch = changeBranch(input.schedule.campaign.changeKey ?? input.schedule.id);
  const open = new Set(
    drifted.length ? await inBatches(drifted, (batch) => reposWithOpenChangeRequest({ targets: batch, branch })) : [],
  );
  return {
    compliant,
    notApplicable,
    unknown,
    withOpenChange: drifted.filter((t) => open.has(t.repo)).map((t) => t.repo),
    needsChange: drifted.filter((t) => !open.has(t.repo)),
  };
}

/** Schedules name each firing's workflow `<id>-<nominal time>`; the campaign id is built from that, so a firing is idempotent. */
function firingCampaignId(scheduleId: string): string {
  const info = workflowInfo();
  const stamp = /(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(info.workflowId);
  const time = stamp ? stamp.slice(1).join('') : new Date(info.startTime).toISOString().replace(/\D/g, '').slice(0, 14);
  return `${scheduleId.slice(0, 48)}-${time}`;
}
