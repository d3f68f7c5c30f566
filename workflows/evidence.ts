/** The control plane's checks on what an execution attempt hands back; pure, so they replay identically. */
import type { ExecutionResult, ExecutionSpec, Failure, PolicyDecision } from '../src/contracts';
import { matchesAny, wildcardSource } from '../src/text/glob';
import { splitLines } from '../src/text/lines';

/** Invariant 2: execution cannot widen the scope the policy decided; `refusedCommands` come from the checkCommands activity. */
export function checkScope(
  spec: ExecutionSpec,
  decision: PolicyDecision,
  result: ExecutionResult,
  refusedCommands: readonly string[],
): Failure | undefined {
  const approved = spec.approvedScope?.paths ?? [];
  const outside = result.touchedFiles.filter(
    (f) => !matchesAny(f, approved) && (!matchesAny(f, spec.allowedPaths) || matchesAny(f, spec.forbiddenPaths)),
  );
  const violations: string[] = [];
  if (outside.length > 0) violations.push(`paths outside scope: ${outside.join(', ')}`);
  if (result.touchedFiles.length > spec.maxPatchFiles) {
    violations.push(`${result.touchedFiles.length} files changed, more than the allowed ${spec.maxPatchFiles}`);
  }
  if (refusedCommands.length > 0) violations.push(`commands outside the allowlist: ${refusedCommands.join(' | ')}`);
  if (violations.length > 0) return { kind: 'policy', message: `scope violation: ${violations.join('; ')}` };
  // The run's cap: the policy's, or less where the campaign reserved less for the run.
  const cap = spec.agent?.maxBudgetUsd ?? decision.maxBudgetUsd;
  if (result.cost.usd > cap) {
    return { kind: 'budget', message: `run cost $${result.cost.usd.toFixed(4)}, more than its budget of $${cap}` };
  }
  return undefined;
}

/** Invariant 4: a change request needs a patch, touched files and a passing verifier report. */
export function missingPublishEvidence(result: ExecutionResult): string | undefined {
  if (!result.manifest.artifacts.some((a) => a.type === 'patch')) return 'no patch artifact';
  if (result.touchedFiles.length === 0) return 'no touched files';
  if (result.verification.verdict === 'skipped') return 'no verification plan ran, so nothing shows the change works';
  if (result.verification.verdict !== 'passed') return `verification ${result.verification.verdict}`;
  return undefined;
}

/** Replay only: the line splitter that runs recorded before the shell parser (patch `command-policy-parser`) were checked with. */
export function refusedBySplitting(commands: readonly string[], allowlist: readonly string[]): string[] {
  const pattern = (p: string) => new RegExp(`^${wildcardSource(p.trim())}$`, 's');
  const allowed = (command: string) => {
    if (/\$\(|`|<\(|>\(/.test(command)) return false;
    const parts = command
      .split(/&&|\|\||[;|\n]/)
      .map((part) => part.trim().replace(/\s+/g, ' '))
      .filter(Boolean);
    return parts.length > 0 && parts.every((part) => allowlist.some((p) => pattern(p).test(part)));
  };
  return commands.filter((c) => !allowed(c));
}

/** npm's own lines around a failed script say only that it failed; the error is in the lines before them. */
const PACKAGE_MANAGER_NOISE = /^(npm (ERR!|error|warn)|yarn (error|warn)|error Command failed|ELIFECYCLE|\s*at )/;
const ERROR_LINE = /error|exception|assert|not ok|fail|panic|cannot|expected|undefined|denied|refused/i;

/** The first line of a command's output that reads as its error, or its last meaningful line; undefined when it printed nothing. */
export function firstErrorLine(output: string): string | undefined {
  const lines = splitLines(output)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !PACKAGE_MANAGER_NOISE.test(line));
  const line = lines.find((l) => ERROR_LINE.test(l)) ?? lines[lines.length - 1];
  return line === undefined ? undefined : line.slice(0, 200);
}

/** How far one approval may widen a run: a few named files or commands, never the repository's git directory. */
export const MAX_APPROVED_PATHS = 10;
export const MAX_APPROVED_COMMANDS = 5;

/**
 * The spec a run re-executes with once a human approved the agent's request for more scope: the approved paths are
 * writable, the approved commands allowed, and the agent's budget is what the first execution left. A new spec, so a
 * new hash: evidence from the first execution can never pass for the second. This says why not, where the request
 * asks for what no approval can give; it is checked before anyone is asked.
 */
export function scopeRequestRefusal(
  spec: ExecutionSpec,
  asked: { paths?: string[]; commands?: string[] },
): string | undefined {
  const paths = [...new Set(asked.paths ?? [])];
  const commands = [...new Set(asked.commands ?? [])];
  const inGit = paths.find((p) => p.split('/').includes('.git'));
  if (inGit) return `the agent asked to write ${inGit}, inside .git, which no approval can allow`;
  const pattern = paths.find((p) => p.includes('*'));
  if (pattern) return `the agent asked for a pattern (${pattern}); an approval covers named files only`;
  if (paths.length > MAX_APPROVED_PATHS)
    return `the agent asked for ${paths.length} paths, more than the ${MAX_APPROVED_PATHS} one approval may widen`;
  if (commands.length > MAX_APPROVED_COMMANDS)
    return `the agent asked for ${commands.length} commands, more than the ${MAX_APPROVED_COMMANDS} one approval may widen`;
  if (!spec.agent) return 'the run has no agent to re-execute with more scope';
  return undefined;
}

/** The widened spec; call only for a request scopeRequestRefusal accepts. */
export function widenScope(
  spec: ExecutionSpec,
  asked: { paths?: string[]; commands?: string[] },
  by: string,
  spentUsd: number,
): ExecutionSpec {
  const agent = spec.agent!;
  const commands = [...new Set(asked.commands ?? [])];
  return {
    ...spec,
    approvedScope: { paths: [...new Set(asked.paths ?? [])], commands, by },
    agent: {
      ...agent,
      allowedCommands: [...agent.allowedCommands, ...commands.filter((c) => !agent.allowedCommands.includes(c))],
      maxBudgetUsd: Math.max(0, agent.maxBudgetUsd - spentUsd),
    },
  };
}
