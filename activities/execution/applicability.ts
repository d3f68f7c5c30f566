/**
 * Which of a campaign's steps and verify commands apply to one repository of a mixed fleet, decided on the execution
 * plane from the files at the repository's root (each ecosystem's manifestFiles), never from repository code.
 *
 * - A step with `when: { ecosystem: [...] }` applies where the repository uses one of those ecosystems.
 * - An ecosystem's upgrade recipe (`go-upgrade`, `python-upgrade`, …) applies where the repository uses its ecosystem,
 *   as Renovate's managers do; where it does and lacks the dependency, the recipe itself refuses with an error.
 * - Other steps apply everywhere. Verification runs `commands`, then `byEcosystem`'s for each ecosystem in use.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ExecutionVerificationPlan, Step } from '../../src/contracts';
import { ECOSYSTEMS, type EcosystemName } from '../../src/ecosystems';

/** An ecosystem the repository uses, and the manifest files at its root that say so. */
export interface EcosystemInUse {
  name: EcosystemName;
  files: string[];
}

/** The ecosystems whose manifest files are regular files at the root of `tree` (a symlink says nothing). */
export function detectEcosystems(tree: string): EcosystemInUse[] {
  return ECOSYSTEMS.flatMap((ecosystem) => {
    const files = ecosystem.manifestFiles.filter((file) => {
      try {
        return fs.lstatSync(path.join(tree, file)).isFile();
      } catch {
        return false;
      }
    });
    return files.length > 0 ? [{ name: ecosystem.name, files }] : [];
  });
}

export function describeEcosystems(inUse: readonly EcosystemInUse[]): string {
  if (inUse.length === 0)
    return 'none recognised (no package.json, go.mod, pom.xml, pyproject.toml or requirements.txt)';
  return inUse.map((e) => `${e.name} (${e.files.join(', ')})`).join(', ');
}

/** Undefined when `step` applies to a repository using `inUse`; otherwise why it does not. */
export function whyNotApplicable(step: Step, inUse: readonly EcosystemInUse[]): string | undefined {
  const names = new Set(inUse.map((e) => e.name));
  const used = inUse.length > 0 ? [...names].join(', ') : 'none';
  if (step.when) {
    if (step.when.ecosystem.some((name) => names.has(name))) return undefined;
    return `not applicable: the step is for ${step.when.ecosystem.join(', ')} repositories and this one uses ${used}`;
  }
  const ecosystem = ECOSYSTEMS.find((e) => e.recipeName === step.recipe);
  if (!ecosystem || names.has(ecosystem.name)) return undefined;
  return `not applicable: ${step.recipe} is for ${ecosystem.name} repositories (${ecosystem.manifestFiles.join(' or ')} at the root) and this one uses ${used}`;
}

/** The verify commands for a repository using `inUse`: the plan's own, then each ecosystem's in use, in order. */
export function verifyCommandsFor(plan: ExecutionVerificationPlan, inUse: readonly EcosystemInUse[]): string[] {
  const names = new Set(inUse.map((e) => e.name));
  const perEcosystem = ECOSYSTEMS.filter((e) => names.has(e.name)).flatMap((e) => plan.byEcosystem?.[e.name] ?? []);
  return [...plan.commands, ...perEcosystem];
}
