/** Process configuration, read from the environment once and validated at the edge. */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ContractViolationError, parseContract } from './contracts/validate';
import { EGRESS_NETWORK } from './sandbox/egress';
import { DEFAULT_TASK_QUEUES } from './temporal/ids';

/** The checkout (or installed package) root, whether this file runs from src/ or from a build in dist/. */
function packageRoot(from: string): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'policies'))) return dir;
  }
  return path.resolve(from, '..');
}

export const PROJECT_ROOT = packageRoot(__dirname);

/** 2 GiB of repository mirrors per execution host unless REGATTA_GIT_CACHE_BYTES says otherwise. */
export const DEFAULT_GIT_CACHE_BYTES = 2 * 1024 ** 3;

function positiveInteger(what: string) {
  return z
    .string()
    .regex(/^[1-9]\d*$/, `expected a positive integer: ${what}`)
    .transform(Number);
}

const Env = z.object({
  REGATTA_HOME: z.string().min(1).default(path.join(PROJECT_ROOT, '.regatta')),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'expected host:port')
    .default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: z.enum(['true', 'false']).default('false'),
  TEMPORAL_UI_URL: z.url().default('http://127.0.0.1:8233'),
  REGATTA_CONTROL_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUES.control),
  REGATTA_EXECUTION_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUES.execution),
  REGATTA_SANDBOX_IMAGE: z.string().min(1).default('regatta-sandbox:dev'),
  REGATTA_SANDBOX_NETWORK: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'expected a Docker network name (letters, digits, _ . -)')
    .default(EGRESS_NETWORK),
  REGATTA_ARTIFACT_DIR: z.string().min(1).optional(),
  REGATTA_POLICY_FILE: z.string().min(1).optional(),
  REGATTA_COMMIT_AUTHOR: z
    .string()
    .regex(/^[^<>]+ <[^<>\s]+@[^<>\s]+>$/, 'expected "Name <email>"')
    .default('Regatta <regatta@localhost>'),
  REGATTA_FORGE: z.enum(['local', 'github']).default('local'),
  GITHUB_API_URL: z.url().default('https://api.github.com'),
  GITHUB_TOKEN: z.string().min(1).optional(),
  REGATTA_PUBLISH_MAX: z.coerce.number().int().min(1).default(60),
  REGATTA_PUBLISH_WINDOW_MS: z.coerce.number().int().min(1000).default(3600_000),
  /** What an hour of sandbox time costs (USD), counted into the cost of a change request beside model spend. */
  REGATTA_SANDBOX_PRICE_PER_HOUR: z.coerce.number().nonnegative().default(0),
  REGATTA_ARTIFACT_STORE: z.enum(['local', 's3']).default('local'),
  REGATTA_S3_BUCKET: z.string().min(3).optional(),
  REGATTA_S3_REGION: z.string().min(1).default('us-east-1'),
  REGATTA_S3_ENDPOINT: z.url().optional(),
  REGATTA_S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).optional(),
  REGATTA_GIT_PORT: z.coerce.number().int().min(1).max(65535).default(8480),
  REGATTA_GIT_CACHE_BYTES: positiveInteger("bytes the execution host's git cache of repositories may hold").optional(),
  REGATTA_WORKFLOW_TASK_SLOTS: positiveInteger('workflow tasks the control worker runs at once').optional(),
  REGATTA_WORKFLOW_POLLERS: positiveInteger('concurrent workflow task polls of the control worker').optional(),
  REGATTA_CACHED_WORKFLOWS: positiveInteger('workflows the control worker keeps in its sticky cache').optional(),
  REGATTA_CONTROL_ACTIVITY_SLOTS: positiveInteger('control activities the control worker runs at once').optional(),
  REGATTA_EXECUTION_SLOTS: z
    .string()
    .regex(/^[1-9]\d*$/, 'expected a positive integer: how many runs this execution worker takes at once')
    .transform(Number)
    .optional(),
});

export interface RegattaConfig {
  projectRoot: string;
  home: string;
  temporal: { address: string; namespace: string; apiKey?: string; tls: boolean; uiUrl: string };
  queues: { control: string; execution: string };
  sandboxImage: string;
  /** The internal Docker network this execution host's `registry_only` sandboxes sit on, its egress proxy at its gateway. */
  sandboxNetwork: string;
  artifactDir: string;
  /** Where evidence goes: a local directory (default) or S3; S3 credentials come from the AWS SDK's usual chain. */
  artifactStore:
    { kind: 'local' } | { kind: 's3'; bucket: string; region: string; endpoint?: string; forcePathStyle?: boolean };
  gitPort: number;
  /** The bound on the execution host's cache of repository mirrors (`<home>/git-cache`); least recently used go first. */
  gitCacheBytes: number;
  /** Where change requests go; the github token stays in the control plane. */
  forge: { kind: 'local' } | { kind: 'github'; apiUrl: string; token: string };
  /** The fleet-wide governor: change requests per forge host per window, across all campaigns. */
  publishGovernor: { max: number; windowMs: number };
  /** USD per hour of sandbox time, for the cost of a change request (`REGATTA_SANDBOX_PRICE_PER_HOUR`). */
  sandboxPricePerHour: number;
  /** Author and committer of the commits Regatta publishes. */
  commitAuthor: { name: string; email: string };
  /** The policy bundle the control plane decides with; the default bundle when absent. */
  policyFile?: string;
  /** The control worker's task slots, pollers and sticky cache; each absent one is the Temporal SDK's default. */
  controlTuning: ControlTuning;
  /** Runs an execution worker takes at once; derived from its engine's host when absent (src/workers/execution-slots.ts). */
  executionSlots?: number;
}

export interface ControlTuning {
  workflowTaskSlots?: number;
  workflowPollers?: number;
  cachedWorkflows?: number;
  activitySlots?: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RegattaConfig {
  const e = parseContract(Env, env, 'environment');
  return {
    projectRoot: PROJECT_ROOT,
    home: e.REGATTA_HOME,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      apiKey: e.TEMPORAL_API_KEY,
      tls: e.TEMPORAL_TLS === 'true' || e.TEMPORAL_API_KEY !== undefined,
      uiUrl: e.TEMPORAL_UI_URL,
    },
    queues: { control: e.REGATTA_CONTROL_QUEUE, execution: e.REGATTA_EXECUTION_QUEUE },
    controlTuning: {
      workflowTaskSlots: e.REGATTA_WORKFLOW_TASK_SLOTS,
      workflowPollers: e.REGATTA_WORKFLOW_POLLERS,
      cachedWorkflows: e.REGATTA_CACHED_WORKFLOWS,
      activitySlots: e.REGATTA_CONTROL_ACTIVITY_SLOTS,
    },
    sandboxImage: e.REGATTA_SANDBOX_IMAGE,
    sandboxNetwork: e.REGATTA_SANDBOX_NETWORK,
    artifactDir: e.REGATTA_ARTIFACT_DIR ?? path.join(e.REGATTA_HOME, 'artifacts'),
    artifactStore: artifactStoreConfig(e),
    gitPort: e.REGATTA_GIT_PORT,
    gitCacheBytes: e.REGATTA_GIT_CACHE_BYTES ?? DEFAULT_GIT_CACHE_BYTES,
    policyFile: e.REGATTA_POLICY_FILE,
    commitAuthor: parseAuthor(e.REGATTA_COMMIT_AUTHOR),
    forge: forgeConfig(e),
    publishGovernor: { max: e.REGATTA_PUBLISH_MAX, windowMs: e.REGATTA_PUBLISH_WINDOW_MS },
    sandboxPricePerHour: e.REGATTA_SANDBOX_PRICE_PER_HOUR,
    executionSlots: e.REGATTA_EXECUTION_SLOTS,
  };
}

function artifactStoreConfig(e: z.infer<typeof Env>): RegattaConfig['artifactStore'] {
  if (e.REGATTA_ARTIFACT_STORE === 'local') return { kind: 'local' };
  if (!e.REGATTA_S3_BUCKET) {
    throw new ContractViolationError('environment', [
      { path: 'REGATTA_S3_BUCKET', value: undefined, expected: 'a bucket name when REGATTA_ARTIFACT_STORE=s3' },
    ]);
  }
  const forcePathStyle =
    e.REGATTA_S3_FORCE_PATH_STYLE === undefined ? undefined : e.REGATTA_S3_FORCE_PATH_STYLE === 'true';
  return {
    kind: 's3',
    bucket: e.REGATTA_S3_BUCKET,
    region: e.REGATTA_S3_REGION,
    endpoint: e.REGATTA_S3_ENDPOINT,
    forcePathStyle,
  };
}

function parseAuthor(value: string): { name: string; email: string } {
  const [, name, email] = /^([^<>]+) <([^<>]+)>$/.exec(value)!;
  return { name: name.trim(), email };
}

function forgeConfig(e: z.infer<typeof Env>): RegattaConfig['forge'] {
  if (e.REGATTA_FORGE === 'local') return { kind: 'local' };
  if (!e.GITHUB_TOKEN)
    throw new ContractViolationError('environment', [
      { path: 'GITHUB_TOKEN', value: undefined, expected: 'a token when REGATTA_FORGE=github' },
    ]);
  return { kind: 'github', apiUrl: e.GITHUB_API_URL, token: e.GITHUB_TOKEN };
}
