/** Primitives every subject's contracts share: names and addresses, the failure taxonomy, digests and amounts. */
import { z } from 'zod';

export const FAILURE_KINDS = ['infra', 'step', 'agent', 'verification', 'policy', 'budget', 'timeout'] as const;
export const FailureKind = z.enum(FAILURE_KINDS);
export type FailureKind = z.infer<typeof FailureKind>;

export const Failure = z.strictObject({
  kind: FailureKind,
  message: z.string().min(1),
});
export type Failure = z.infer<typeof Failure>;

export const TASK_TYPES = ['dependency_upgrade', 'refactor', 'migration', 'codemod', 'agent_task'] as const;
export const TaskType = z.enum(TASK_TYPES);
export type TaskType = z.infer<typeof TaskType>;

/** Identifiers that end up in workflow ids, branch names and artifact keys. */
export const Slug = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,62}$/,
    'expected lowercase letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63 characters',
  );

/** `owner/name`, as forges spell repositories. */
export const RepoName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected "owner/name"');

export const HttpUrl = z.url({
  protocol: /^https?$/,
  error: 'expected an http(s) URL (isomorphic-git speaks only http and https)',
});

/** A lowercase hex SHA-256, as artifacts and stored pages are addressed by. */
export const Sha256Digest = z.string().regex(/^[0-9a-f]{64}$/);

/** An amount in US dollars: a budget, a reservation or a cost. */
export const UsdAmount = z.number().nonnegative();

export const Target = z.strictObject({
  repo: RepoName,
  url: HttpUrl,
  ref: z.string().min(1).default('main'),
  owner: z.string().min(1).optional(),
  tier: z.string().min(1).optional(),
  language: z.string().min(1).optional(),
});
export type Target = z.infer<typeof Target>;

/** A repository at a ref, as an execution checks it out and a change request is based on it. */
export const RepoCheckout = z.strictObject({ name: RepoName, url: HttpUrl, ref: z.string().min(1) });
export type RepoCheckout = z.infer<typeof RepoCheckout>;

/** Queue names travel with the request so a test, or a second deployment, can use its own. */
export const TaskQueues = z.strictObject({
  control: z.string().min(1),
  execution: z.string().min(1),
});
export type TaskQueues = z.infer<typeof TaskQueues>;
