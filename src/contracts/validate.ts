import { z } from 'zod';

/**
 * Thrown when a value fails its contract (parseContract, configuration, CLI options); the message names each field,
 * the value found and what was expected. Its class name is the Temporal failure type workflows never retry
 * (NON_RETRYABLE_ERROR_TYPES in src/temporal/failure-types.ts): rename it only together with that list.
 */
export class ContractViolationError extends Error {
  readonly issues: readonly { path: string; value: unknown; expected: string }[];
  constructor(
    readonly subject: string,
    issues: readonly { path: string; value: unknown; expected: string }[],
  ) {
    super(
      `invalid ${subject}:\n` + issues.map((i) => `  - ${i.path}: got ${render(i.value)}; ${i.expected}`).join('\n'),
    );
    this.name = 'ContractViolationError';
    this.issues = issues;
  }
}

function render(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cursor: unknown = input;
  for (const key of path) {
    if (cursor === null || typeof cursor !== 'object') return undefined;
    cursor = (cursor as Record<PropertyKey, unknown>)[key];
  }
  return cursor;
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field(s) ${issue.keys.join(', ')}; remove or rename them`;
  return issue.message.startsWith('expected') ? issue.message : `expected: ${issue.message}`;
}

/** Parses `input` with `schema`, or throws a ContractViolationError naming `subject` and every bad field. */
export function parseContract<S extends z.ZodType>(schema: S, input: unknown, subject: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ContractViolationError(
    subject,
    result.error.issues.map((issue) => ({
      path: issue.path.length ? issue.path.map(String).join('.') : '(root)',
      value: valueAt(input, issue.path),
      expected: describe(issue),
    })),
  );
}
