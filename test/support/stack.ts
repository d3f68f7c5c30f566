/** What tests know about the running local stack: read from <home>/stack.json, written by ensureStack. */
import type { Target } from '../../src/contracts';
import { createRepo, FLEET, serviceFiles } from '../../src/dev/fleet';
import { readStackInfo as readStackFile, type StackInfo } from '../../src/dev/stack';

export type { StackInfo };

export function readStackInfo(): StackInfo {
  return readStackFile();
}

/** One generated fleet repository as a campaign target, e.g. fleetTarget('acme/billing'). */
export function fleetTarget(repo: string): Target {
  const target = readStackInfo().targets.find((t) => t.repo === repo);
  if (!target)
    throw new Error(
      `the local fleet has no ${repo}; it has ${readStackInfo()
        .targets.map((t) => t.repo)
        .join(', ')}`,
    );
  return target;
}

/**
 * A fresh repository for one test, served by the stack's git server: a copy of a fleet service (catalog by
 * default) with `files` laid over it, so tests that push branches never touch the shared fleet.
 */
export async function fixtureRepo(
  name: string,
  files: Record<string, string> = {},
  extra: Partial<Target> = {},
): Promise<Target> {
  const stack = readStackInfo();
  // `extra.ref` is the repository's default branch, as real repositories name it (master, trunk…).
  await createRepo(
    stack.fleetRoot,
    name,
    { ...serviceFiles(FLEET.find((s) => s.repo === 'acme/catalog')!), ...files },
    { branch: extra.ref ?? 'main' },
  );
  return { repo: name, url: `${stack.gitBaseUrl}/${name}.git`, ref: 'main', ...extra };
}
