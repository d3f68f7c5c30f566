/** What tests know about the running local stack: read from <home>/stack.json, written by ensureStack. */
import type { Target } from '../../src/contracts';
import { readStackInfo as readStackFile, type StackInfo } from '../../src/dev/stack';

export type { StackInfo };

export function readStackInfo(): StackInfo {
  return readStackFile();
}

/** One generated fleet repository as a campaign target, e.g. fleetTarget('acme/billing'). */
export function fleetTarget(repo: string): Target {
  const target = readStackInfo().targets.find((t) => t.repo === repo);
  if (!target) throw new Error(`the local fleet has no ${repo}; it has ${readStackInfo().targets.map((t) => t.repo).join(', ')}`);
  return target;
}
