/**
 * Services of other ecosystems for the local fleet's tests, served by the stack's git server: each has a real
 * dependency the registry holds and a test suite of its own, and a newer version of that dependency breaks
 * something small that a `replace` step fixes.
 */
import type { Target } from '../../src/contracts';
import { createRepo } from '../../src/dev/fleet';
import { readStackInfo } from './stack';

export { goServiceFiles, pythonServiceFiles } from '../../src/dev/ecosystem-services';

/** A fresh repository holding exactly `files` (no Node service under it), as a campaign target. */
export async function ecosystemRepo(name: string, files: Record<string, string>, owner = 'inventory'): Promise<Target> {
  const stack = readStackInfo();
  await createRepo(stack.fleetRoot, name, files, { branch: 'main' });
  return { repo: name, url: `${stack.gitBaseUrl}/${name}.git`, ref: 'main', owner };
}
