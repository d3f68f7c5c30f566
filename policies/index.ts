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

/** The last bundle read from each file, by its text: a decision per run reads the file, but parses and hashes it once. */
const loaded = new Map<string, { text: string; policy: LoadedPolicy }>();

export function loadPolicyBundle(file: string = DEFAULT_POLICY_FILE): LoadedPolicy {
  let text: string;
  let raw: unknown;
  try {
    text = readFileSync(file, 'utf8');
    const last = loaded.get(file);
    if (last?.text === text) return last.policy;
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`cannot read policy bundle ${file}: ${(err as Error).message}`);
  }
  const bundle = parseContract(PolicyBundle, raw, `policy bundle ${file}`);
  const policy = { bundle, hash: sha256Hex(canonicalJson(bundle)), file };
  loaded.set(file, { text, policy });
  return policy;
}
