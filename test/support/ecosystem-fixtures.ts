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

/** The `replace` step that fixes the Python service for semver 3, which renamed `isvalid` to `is_valid`. */
export const semverRenameStep = {
  recipe: 'replace' as const,
  name: 'semver 3 renamed isvalid',
  files: ['pricing/**/*.py'],
  find: '.isvalid(',
  replace: '.is_valid(',
};

/** The Python service's verification: a venv from requirements.txt, then pytest with a JUnit report. */
export const pythonVerify = {
  commands: [
    'uv venv --clear /tmp/venv',
    'uv pip install --python /tmp/venv -r requirements.txt pytest',
    'uv run --python /tmp/venv --no-project python -m pytest --junitxml=test-results/junit.xml',
  ],
};
