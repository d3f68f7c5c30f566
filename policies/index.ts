/** Loads a policy bundle from disk (control plane only) and names it by the hash of its canonical form. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config';
import { canonicalJson, sha256Hex } from '../src/contracts/hash';
import { parseContract } from '../src/contracts/validate';
import { PolicyBundle } from './bundle';

export { evaluatePolicy } from './evaluate';
export {
  CommandPolicy,
  describeRefusedCommand,
  explainRefusals,
  loadCommandPolicy,
  type CommandRefusal,
} from './command-policy';
export type { PolicyBundle, PolicySubject } from './bundle';

// From the package root, so a build in dist/ finds the bundle that ships beside the sources.
export const DEFAULT_POLICY_FILE = path.join(PROJECT_ROOT, 'policies', 'default.json');

export interface LoadedPolicy {
  bundle: PolicyBundle;
  hash: string;
  file: string;
}

export function loadPolicyBundle(file: string = DEFAULT_POLICY_FILE): LoadedPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read policy bundle ${file}: ${(err as Error).message}`);
  }
  const bundle = parseContract(PolicyBundle, raw, `policy bundle ${file}`);
  return { bundle, hash: sha256Hex(canonicalJson(bundle)), file };
}
