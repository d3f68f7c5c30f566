/** Campaign specs in YAML (or JSON) files, validated at the edge with errors that name the file and the field. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { CampaignSpec } from '../contracts';
import { ContractViolationError } from '../contracts/validate';
import { InvalidSpecError } from './errors';
import { callerIdentity, withRequester } from './identity';
import { validateCampaignSpec } from './index';

/** Who asked: `overrides.requestedBy`, else the file's own `requestedBy`, else the OS user who loads it. */
export function loadCampaignSpecFile(
  file: string,
  overrides: { preview?: boolean; requestedBy?: string } = {},
): CampaignSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw fileProblem(
      file,
      '(file)',
      file,
      `expected a readable file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw fileProblem(file, '(yaml)', undefined, `expected valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (overrides.preview !== undefined && data !== null && typeof data === 'object')
    data = { ...data, preview: overrides.preview };
  data = withRequester(data, { explicit: overrides.requestedBy, fallback: callerIdentity() });
  return validateCampaignSpec(data, file);
}

function fileProblem(file: string, path: string, value: unknown, expected: string): InvalidSpecError {
  return new InvalidSpecError(new ContractViolationError('campaign spec', [{ path, value, expected }]), file);
}
