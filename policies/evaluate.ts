/**
 * The policy evaluator: a pure, deterministic function of (bundle, subject). Rules apply top to bottom;
 * the most severe effect wins (deny > needs_approval > allow) and a later rule's `set` overrides an earlier one's.
 */
import { PatchAuditPolicy, type FiredRule, type PolicyDecision } from '../src/contracts';
import type { DecisionSettings, PolicyBundle, PolicyRule, PolicySubject, RuleMatch } from './bundle';
import { describeRefusedCommand, type CommandPolicy } from './command-policy';
import { globToRegExp, matchesAny } from '../src/text/glob';

const SEVERITY = { allow: 0, needs_approval: 1, deny: 2 } as const;

export function evaluatePolicy(
  bundle: PolicyBundle,
  bundleHash: string,
  subject: PolicySubject,
  commands: CommandPolicy,
): PolicyDecision {
  let settings: DecisionSettings = { ...bundle.defaults };
  let verdict: PolicyDecision['verdict'] = 'allow';
  const fired: FiredRule[] = [];

  for (const rule of bundle.rules) {
    if (!ruleMatches(rule.match, subject)) continue;
    fired.push({ id: rule.id, effect: rule.effect, reason: rule.reason });
    settings = { ...settings, ...rule.set };
    if (SEVERITY[rule.effect] > SEVERITY[verdict]) verdict = rule.effect;
  }

  const scope = narrowScope(subject.requestedPaths, settings);
  const deniedCommands = subject.commands
    .map((c) => commands.check(c, settings.allowedCommands))
    .filter((refusals) => refusals.length > 0);
  const builtIn: FiredRule[] = [];
  if (scope.outside.length > 0) {
    builtIn.push({
      id: 'builtin-scope',
      effect: 'deny',
      reason: `requested paths outside the policy's allowed paths: ${scope.outside.join(', ')}`,
    });
  }
  if (deniedCommands.length > 0) {
    builtIn.push({
      id: 'builtin-commands',
      effect: 'deny',
      reason: `commands not in the allowlist: ${deniedCommands.map(describeRefusedCommand).join(' | ')}`,
    });
  }
  if (builtIn.length > 0) verdict = 'deny';

  const allFired = [...fired, ...builtIn];
  return {
    verdict,
    reason: explain(verdict, allFired),
    ...settings,
    allowedPaths: scope.allowed,
    approvalBeforePr: settings.approvalBeforePr || verdict === 'needs_approval',
    bundle: { name: bundle.name, version: bundle.version, hash: bundleHash },
    firedRules: allFired,
    patchAudit: bundle.patchAudit ?? PatchAuditPolicy.parse({}),
  };
}

function ruleMatches(match: RuleMatch, subject: PolicySubject): boolean {
  return (
    attributeMatches(match.repos, subject.repo) &&
    attributeMatches(match.owners, subject.owner) &&
    attributeMatches(match.tiers, subject.tier) &&
    attributeMatches(match.languages, subject.language) &&
    (match.taskTypes === undefined || match.taskTypes.includes(subject.taskType)) &&
    (match.paths === undefined || subject.requestedPaths.some((p) => pathsOverlap(p, match.paths!)))
  );
}

function attributeMatches(patterns: string[] | undefined, value: string | undefined): boolean {
  if (patterns === undefined) return true;
  return value !== undefined && patterns.some((p) => globToRegExp(p).test(value));
}

/** A requested pattern overlaps a rule's globs when either could name the other's files. */
function pathsOverlap(requested: string, globs: readonly string[]): boolean {
  return globs.some((g) => globToRegExp(g).test(requested) || globToRegExp(requested).test(g) || requested === '**');
}

function narrowScope(
  requested: readonly string[],
  settings: DecisionSettings,
): { allowed: string[]; outside: string[] } {
  if (requested.length === 0) return { allowed: settings.allowedPaths, outside: [] };
  const allowed: string[] = [];
  const outside: string[] = [];
  for (const path of requested) {
    const within = settings.allowedPaths.includes('**') || matchesAny(path, settings.allowedPaths);
    (within ? allowed : outside).push(path);
  }
  return { allowed, outside };
}

function explain(verdict: PolicyDecision['verdict'], fired: readonly FiredRule[]): string {
  const decisive = fired.filter((r) => r.effect === verdict);
  if (decisive.length === 0) return verdict === 'allow' ? 'allowed by the bundle defaults' : verdict;
  return decisive.map((r) => `${r.id}: ${r.reason}`).join('; ');
}

export type { PolicyBundle, PolicyRule, PolicySubject };
