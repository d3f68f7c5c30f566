/** Recurring campaigns: a schedule's spec, the desired state it converges the fleet to, and what one firing found. */
import { z } from 'zod';
import { RepoName, Slug } from './common';
import { CampaignResult, CampaignSpec } from './campaign';
import { EcosystemName, GoModulePath, MavenCoordinate, NpmUpgradeStep, PythonPackageName } from './execution';

const PACKAGE_NAME_BY_ECOSYSTEM = {
  npm: NpmUpgradeStep.shape.package,
  go: GoModulePath,
  maven: MavenCoordinate,
  python: PythonPackageName,
} as const;

/** A desired state a recurring campaign converges the fleet to, e.g. every repository on @acme/logger >= 2.1. */
export const DesiredDependency = z
  .strictObject({
    ecosystem: EcosystemName.optional(),
    /** An npm package name, a Go module path where `ecosystem` is `go`, a Python package name where it is `python`. */
    package: z.string().min(1),
    atLeast: z.string().regex(/^\d+(\.\d+){0,2}$/, 'expected a version such as 2, 2.1 or 2.1.0'),
  })
  .superRefine((desired, ctx) => {
    const checked = PACKAGE_NAME_BY_ECOSYSTEM[desired.ecosystem ?? 'npm'].safeParse(desired.package);
    if (!checked.success) ctx.addIssue({ code: 'custom', path: ['package'], message: checked.error.issues[0].message });
  });
export type DesiredDependency = z.infer<typeof DesiredDependency>;

/**
 * One dependency, or one per ecosystem of a mixed fleet (at most one per ecosystem): each repository is held to the
 * dependencies its own manifests declare, and one that declares none of them is not applicable.
 */
export const DesiredState = z.union(
  [
    DesiredDependency,
    z
      .array(DesiredDependency)
      .min(1, 'expected at least one desired dependency')
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((desired, index) => {
          const ecosystem = desired.ecosystem ?? 'npm';
          if (seen.has(ecosystem))
            ctx.addIssue({
              code: 'custom',
              path: [index, 'ecosystem'],
              message: `expected one desired dependency per ecosystem; "${ecosystem}" is named twice`,
            });
          seen.add(ecosystem);
        });
      }),
  ],
  { error: 'expected a desired dependency ({ ecosystem, package, atLeast }) or a list of them, one per ecosystem' },
);
export type DesiredState = z.infer<typeof DesiredState>;

/** A desired state as a list, one entry per ecosystem. */
export function desiredDependencies(desired: DesiredState): DesiredDependency[] {
  return Array.isArray(desired) ? desired : [desired];
}

export const SCHEDULE_OVERLAP_POLICIES = [
  'skip',
  'buffer_one',
  'buffer_all',
  'cancel_other',
  'terminate_other',
  'allow_all',
] as const;

export const ScheduleSpec = z
  .strictObject({
    id: Slug,
    cron: z.array(z.string().min(1)).optional(),
    every: z
      .string()
      .regex(/^\d+(ms|s|m|h|d)$/, 'expected an interval such as 30m, 6h or 7d')
      .optional(),
    overlap: z.enum(SCHEDULE_OVERLAP_POLICIES).default('skip'),
    paused: z.boolean().default(false),
    desired: DesiredState.optional(),
    /** The campaign each firing starts; its id is the prefix of every firing's campaign id. */
    campaign: CampaignSpec,
  })
  .refine((s) => (s.cron?.length ?? 0) > 0 || s.every !== undefined, {
    message: 'expected `cron` or `every`',
    path: ['cron'],
  });
export type ScheduleSpec = z.infer<typeof ScheduleSpec>;
export type ScheduleSpecInput = z.input<typeof ScheduleSpec>;

export const DependencySurvey = z.array(
  z.strictObject({
    repo: RepoName,
    declared: z.string().optional(),
    installed: z.string().optional(),
    error: z.string().optional(),
    /** Which desired dependency the entry is about, where a survey asks for several (absent: the only one asked). */
    ecosystem: EcosystemName.optional(),
    package: z.string().optional(),
  }),
);
export type DependencySurvey = z.infer<typeof DependencySurvey>;

export const ScheduledFiringResult = z.strictObject({
  campaignId: Slug,
  compliant: z.array(RepoName),
  notApplicable: z.array(RepoName),
  withOpenChange: z.array(RepoName),
  unknown: z.array(RepoName),
  started: z.array(RepoName),
  result: CampaignResult.optional(),
});
export type ScheduledFiringResult = z.infer<typeof ScheduledFiringResult>;
