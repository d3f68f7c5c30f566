/**
 * The baseline: the run's verify commands on the untouched base tree, in the run's own sandbox and toolchain (so the
 * install is shared with verification), before any step or agent changes it. Its result is cached in the artifact
 * store per repository, base commit, and verify plan plus toolchain, so the next run on the same base reads it instead
 * of running the suite again; an entry that does not read back as a baseline is recomputed.
 *
 * What the baseline writes in the tree (reports, build output) is put back before the steps run: the patch is the
 * steps' and the agent's work only, and a JUnit report from the base can never be counted for the change.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import {
  allVerifyCommands,
  VerificationBaseline as VerificationBaselineSchema,
  type ExecutionSpec,
  type ToolchainUse,
  type VerificationBaseline,
  type VerificationReport,
} from '../../src/contracts';
import type { ArtifactStore } from '../../src/artifacts/store';
import { computePatch } from '../../src/git/workspace';
import type { CommandResult } from '../../src/sandbox/driver';
import {
  baselineCommandFor,
  baselineTotals,
  compareWithBaseline,
  describePreExisting,
  preExistingFailures,
} from '../../src/verification/baseline';
import { collectJUnitReports, withJUnitCounts } from './junit';
import { testEvidence, withSummary } from './test-report';

export interface BaselineRequest {
  artifacts: ArtifactStore;
  repoUrl: string;
  commit: string;
  commands: readonly string[];
  toolchain: readonly ToolchainUse[] | undefined;
  /** The sandbox's network profile: an install that cannot reach the registry ran a different baseline. */
  network: string;
  tree: string;
  gitdir: string;
  exec(command: string): Promise<CommandResult>;
  onCommand(result: CommandResult): void;
}

export type BaselineOutcome =
  { baseline: VerificationBaseline; cached: boolean; durationMs: number } | { unusable: string; durationMs: number };

/**
 * On by default for runs with verify commands that no agent works on (this worker has no model, or policy grants no
 * tools): an agent works on what fails, and what already fails on the base is often its task, so there it is opt-in.
 */
export function baselineWanted(spec: Pick<ExecutionSpec, 'verify' | 'agent'>, agentAvailable: boolean): boolean {
  if (allVerifyCommands(spec.verify).length === 0) return false;
  return spec.verify.baseline ?? !(spec.agent && agentAvailable);
}

/** `baselines/<repository hash>/<base commit>/<plan and toolchain hash>.json`. */
export function baselineKey(repoUrl: string, commit: string, planHash: string): string {
  if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new Error(`base commit "${commit}" is not a git object id`);
  return `baselines/${sha256(repoUrl).slice(0, 32)}/${commit}/${planHash}.json`;
}

export function baselinePlanHash(
  commands: readonly string[],
  toolchain: readonly ToolchainUse[] | undefined,
  network: string,
): string {
  const tools = (toolchain ?? []).map((t) => `${t.name}@${t.version}`).sort();
  return sha256(JSON.stringify({ commands, tools, network })).slice(0, 32);
}

export async function obtainBaseline(request: BaselineRequest): Promise<BaselineOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const planHash = baselinePlanHash(request.commands, request.toolchain, request.network);
  const key = baselineKey(request.repoUrl, request.commit, planHash);
  const cached = await readCached(request.artifacts, key, request.commit, planHash);
  if (cached) return { baseline: cached, cached: true, durationMs: elapsed() };

  const commands: VerificationBaseline['commands'] = [];
  let stoppedBy: string | undefined;
  // Every command runs, failing or not, once: what fails on the base is what the comparison needs to know.
  for (const command of request.commands) {
    const result = await request.exec(command);
    request.onCommand(result);
    if (result.timedOut) stoppedBy = command;
    const { tests } = testEvidence(result);
    commands.push({ command, exitCode: result.exitCode, ...(tests ? { tests } : {}) });
  }
  const withJUnit = junitCounted(request.tree, commands);
  await restoreBaseTree(request.tree, request.gitdir, request.commit);
  if (stoppedBy)
    return { unusable: `the per-command time limit stopped \`${stoppedBy}\` on the base`, durationMs: elapsed() };
  const baseline: VerificationBaseline = {
    baselineVersion: 1,
    repo: request.repoUrl,
    commit: request.commit,
    planHash,
    commands: withJUnit,
    durationMs: elapsed(),
    recordedAt: new Date().toISOString(),
  };
  await request.artifacts.put(key, JSON.stringify(baseline, null, 2), 'verification');
  return { baseline, cached: false, durationMs: elapsed() };
}

type UsableBaseline = Extract<BaselineOutcome, { baseline: unknown }>;

/** Whether a failed command fails only as it did on the base (verification then neither retries nor stops there). */
export function failsAsOnBase(outcome: BaselineOutcome | undefined, command: VerificationReport['commands'][number]) {
  if (!outcome || 'unusable' in outcome) return false;
  return preExistingFailures(baselineCommandFor(outcome.baseline, command.command), command) !== undefined;
}

/**
 * A verifier run's report, compared with the baseline: JUnit counts read now (the comparison needs them), the verdict
 * the comparison gives, and what it found in `baseline`, `preExisting` and `baselineFindings`, with a summary to match.
 */
export function withBaseline(
  report: VerificationReport,
  outcome: BaselineOutcome | undefined,
  plannedCommands: number,
  tree: string,
): VerificationReport {
  if (!outcome || 'unusable' in outcome || report.verdict === 'skipped') return report;
  const junit = collectJUnitReports(tree);
  const counted = junit.length > 0 ? withJUnitCounts({ ...report, junit }) : report;
  const comparison = compareWithBaseline(outcome.baseline, counted, plannedCommands);
  const summarised = withSummary({ ...counted, verdict: comparison.verdict });
  const evidence = {
    baseline: baselineEvidence(outcome, comparison.countsOnly),
    ...(comparison.preExisting.length ? { preExisting: comparison.preExisting } : {}),
    ...(comparison.findings.length ? { baselineFindings: comparison.findings } : {}),
  };
  const summary = [...comparison.findings, summarised.summary, describePreExisting(evidence)]
    .filter(Boolean)
    .join('; ');
  return { ...summarised, ...(summary ? { summary } : {}), ...evidence };
}

/** One event for what the baseline was: run here, read from the cache, or unusable and why. */
export function describeBaseline(outcome: BaselineOutcome): string {
  if ('unusable' in outcome) return `no baseline: ${outcome.unusable}`;
  const { testsRun, failed } = baselineTotals(outcome.baseline);
  const how = outcome.cached ? 'read from the cache' : `ran in ${outcome.durationMs} ms`;
  return `${outcome.baseline.commit.slice(0, 12)}: ${testsRun} tests executed, ${failed} failed (${how})`;
}

/** The report's `baseline` field: which commit, and what ran and failed there. */
function baselineEvidence(outcome: UsableBaseline, countsOnly: boolean): NonNullable<VerificationReport['baseline']> {
  return {
    commit: outcome.baseline.commit,
    ...baselineTotals(outcome.baseline),
    cached: outcome.cached,
    durationMs: outcome.durationMs,
    ...(countsOnly ? { countsOnly } : {}),
  };
}

async function readCached(
  artifacts: ArtifactStore,
  key: string,
  commit: string,
  planHash: string,
): Promise<VerificationBaseline | undefined> {
  let text: string;
  try {
    text = (await artifacts.get(artifacts.uriFor(key))).toString('utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = VerificationBaselineSchema.safeParse(JSON.parse(text));
    if (parsed.success && parsed.data.commit === commit && parsed.data.planHash === planHash) return parsed.data;
  } catch {
    // Not JSON: recomputed and overwritten below.
  }
  return undefined;
}

/** JUnit XML the base's commands left, counted for the last command without TAP, as verification counts it. */
function junitCounted(tree: string, commands: VerificationBaseline['commands']): VerificationBaseline['commands'] {
  const junit = collectJUnitReports(tree);
  if (junit.length === 0) return commands;
  for (const report of junit) fs.rmSync(path.join(tree, report.file), { force: true });
  const asReport: VerificationReport = {
    verdict: 'passed',
    junit,
    commands: commands.map((c) => ({ ...c, durationMs: 0, output: '', outputTruncated: false })),
  };
  return withJUnitCounts(asReport).commands.map(({ command, exitCode, tests }) => ({
    command,
    exitCode,
    ...(tests ? { tests } : {}),
  }));
}

/**
 * Puts back every file the baseline changed against the base commit: tracked files from the commit, anything new
 * removed. Runs between sandbox commands, when nothing in the sandbox runs; writes only inside the tree.
 */
async function restoreBaseTree(tree: string, gitdir: string, commit: string): Promise<void> {
  const changed = await computePatch(tree, { gitdir, base: commit });
  const paths = [...changed.touchedFiles, ...changed.refused.map((r) => r.path)];
  if (paths.length === 0) return;
  const root = fs.realpathSync(tree);
  const owner = fs.statSync(root);
  for (const filepath of paths) {
    const file = path.join(root, filepath);
    // A directory the baseline replaced by a link must not carry a write out of the tree.
    if (!insideTree(root, path.dirname(file))) continue;
    const mode = fs.lstatSync(file, { throwIfNoEntry: false })?.mode ?? 0o644;
    fs.rmSync(file, { force: true, recursive: true });
    const blob = await git.readBlob({ fs, gitdir, oid: commit, filepath }).catch(() => undefined);
    if (!blob) continue;
    const created = fs.mkdirSync(path.dirname(file), { recursive: true });
    if (created) fs.chownSync(created, owner.uid, owner.gid);
    fs.writeFileSync(file, blob.blob, { mode: mode & 0o777 });
    fs.chownSync(file, owner.uid, owner.gid);
  }
}

/** Whether the nearest existing ancestor of `dir` resolves inside the tree. */
function insideTree(root: string, dir: string): boolean {
  let existing = dir;
  while (!fs.existsSync(existing) && existing.startsWith(root + path.sep)) existing = path.dirname(existing);
  const real = fs.realpathSync(existing);
  return real === root || real.startsWith(root + path.sep);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
