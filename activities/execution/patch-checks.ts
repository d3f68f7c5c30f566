/**
 * The checks a run's patch passes before it is stored as evidence: every change carriable as text, and no secret added.
 * A patch that fails them is not stored at all; the run fails as `policy` with the reason, and each refusal is an event.
 */
import type { Failure } from '../../src/contracts';
import { secretKinds, secretValues } from '../../src/artifacts/redact';
import type { WorkspacePatch } from '../../src/git/workspace';
import type { RunLog } from './run-log';

export interface CheckedPatch {
  touchedFiles: string[];
  failure?: Failure;
  /** The patch text to store; absent when it failed a check or changes nothing. */
  storable?: string;
}

export function checkPatch(patch: WorkspacePatch, log: RunLog): CheckedPatch {
  const touchedFiles = patch.touchedFiles;
  log.emit({
    kind: 'patch',
    name: 'patch',
    allowed: patch.refused.length === 0,
    detail: `${touchedFiles.length} file(s) changed`,
  });
  for (const refused of patch.refused)
    log.emit({ kind: 'patch', name: refused.path, allowed: false, detail: refused.reason });
  if (patch.refused.length > 0)
    return {
      touchedFiles,
      failure: {
        kind: 'policy',
        message: `changes that cannot be carried: ${patch.refused.map((r) => `${r.path} (${r.reason})`).join('; ')}`,
      },
    };
  const secrets = secretsAddedBy(patch.patch);
  if (secrets.length > 0) {
    log.emit({ kind: 'patch', name: 'secret scan', allowed: false, detail: secrets.join(', ') });
    return {
      touchedFiles,
      failure: {
        kind: 'policy',
        message: `the patch adds what looks like a secret (${secrets.join(', ')}); it was not stored`,
      },
    };
  }
  return { touchedFiles, ...(touchedFiles.length > 0 ? { storable: patch.patch } : {}) };
}

/** Secrets a patch would carry into a repository: the worker's own secret values anywhere, token shapes on added lines. */
function secretsAddedBy(patch: string): string[] {
  const added = patch
    .split('\n')
    .filter((line) => line.startsWith('+') && !line.startsWith('+++ '))
    .join('\n');
  const kinds = new Set(secretKinds(added));
  if (secretValues().some((secret) => patch.includes(secret)))
    kinds.add("a secret value from the worker's environment");
  return [...kinds];
}
