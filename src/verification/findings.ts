/** How patch-audit findings read in a failure, an approval request or the memo; pure, so workflows use it too. */
import type { PatchFinding } from '../contracts';

/** One line per finding: `test_skipped test.js:3 (skip marker added (.skip))`, joined by semicolons. */
export function describeFindings(findings: readonly PatchFinding[]): string {
  return findings.map((f) => `${f.kind} ${f.file}${f.line ? `:${f.line}` : ''} (${f.reason})`).join('; ');
}
