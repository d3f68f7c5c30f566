/** Secrets never reach an artifact: known secret values from the environment and token-shaped strings are masked. */

const SECRET_ENV = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)/i;
// Word boundaries keep ordinary words ("task-scheduler-for-billing") from looking like keys.
const TOKEN_PATTERNS: readonly { kind: string; pattern: RegExp }[] = [
  { kind: 'GitHub token', pattern: /\bgh[pousr]_[A-Za-z0-9]{20,}/g },
  { kind: 'GitHub token', pattern: /\bgithub_pat_[A-Za-z0-9_]{20,}/g },
  { kind: 'API key (sk-)', pattern: /\bsk-[A-Za-z0-9_-]{16,}/g },
  { kind: 'AWS access key id', pattern: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { kind: 'Slack token', pattern: /\bxox[abpr]-[A-Za-z0-9-]{10,}/g },
  { kind: 'private key', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g },
];

export const REDACTED = '[REDACTED]';

/** Values of secret-named environment variables (long enough not to mask ordinary words). */
export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.entries(env)
    .filter(([name, value]) => SECRET_ENV.test(name) && typeof value === 'string' && value.length >= 8)
    .map(([, value]) => value as string)
    .sort((a, b) => b.length - a.length);
}

export function redact(text: string, secrets: readonly string[] = secretValues()): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(REDACTED);
  for (const { pattern } of TOKEN_PATTERNS) out = out.replace(pattern, REDACTED);
  return out;
}

/** What kinds of secret `text` holds (never the values themselves), for refusing to carry it at all. */
export function secretKinds(text: string, secrets: readonly string[] = secretValues()): string[] {
  const kinds = new Set<string>();
  if (secrets.some((secret) => text.includes(secret))) kinds.add("a secret value from the worker's environment");
  for (const { kind, pattern } of TOKEN_PATTERNS) if (new RegExp(pattern.source).test(text)) kinds.add(kind);
  return [...kinds];
}
