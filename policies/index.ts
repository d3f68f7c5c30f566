/** Loads a policy bundle from disk (control plane only) and names it by the hash of its canonical form. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseContract } from '../src/contracts/validate';
import { PolicyBundle } from './bundle';

export { evaluatePolicy } from './evaluate';
export type { PolicyBundle, PolicySubject } from './bundle';

export const DEFAULT_POLICY_FILE = path.join(__dirname, 'default.json');

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
  return { bundle, hash: createHash('sha256').update(canonicalJson(bundle)).digest('hex'), file };
}

/** JSON with object keys sorted, so the same bundle always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
