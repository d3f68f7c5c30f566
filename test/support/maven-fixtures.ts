/**
 * A Maven service for the local fleet's tests, served by the stack's git server on a default branch that is not
 * `main`: JUnit 5 through Surefire, a real dependency on org.apache.commons:commons-lang3 whose version is a
 * `<properties>` entry, and a break on upgrade that a `replace` step fixes.
 */
import type { Target } from '../../src/contracts';
import { createRepo } from '../../src/dev/fleet';
import { readStackInfo } from './stack';

export { mavenPom, mavenServiceFiles } from '../../src/dev/ecosystem-services';

export const MAVEN_DEFAULT_BRANCH = 'trunk';

/** A fresh repository holding the Maven service, on branch `trunk`, as a campaign target. */
export async function mavenRepo(name: string, files: Record<string, string>, owner = 'platform'): Promise<Target> {
  const stack = readStackInfo();
  await createRepo(stack.fleetRoot, name, files, { branch: MAVEN_DEFAULT_BRANCH });
  return { repo: name, url: `${stack.gitBaseUrl}/${name}.git`, ref: MAVEN_DEFAULT_BRANCH, owner };
}
