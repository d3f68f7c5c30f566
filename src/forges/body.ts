/** The change request's body is its evidence: what was asked, what ran, what passed, what changed, and where to look. */
import type { PublishRequest } from '../contracts';

export function changeRequestBody(request: PublishRequest, runUiUrl: string): string {
  const { evidence } = request;
  const verifier = evidence.verification.commands.map((c) => `| \`${c.command}\` | ${c.exitCode === 0 ? 'passed' : `exit ${c.exitCode}`} | ${Math.round(c.durationMs)} ms |`);
  return [
    `## ${request.title}`,
    '',
    evidence.summary,
    '',
    `Campaign \`${request.campaignId}\` · run [\`${request.runId}\`](${runUiUrl})${evidence.approvedBy ? ` · approved by ${evidence.approvedBy}` : ''}`,
    '',
    '### Steps',
    ...evidence.steps.map((s) => `- ${s}`),
    '',
    `### Verification: ${evidence.verification.verdict}`,
    '| command | result | duration |',
    '|---|---|---|',
    ...verifier,
    '',
    `### Files changed (${evidence.touchedFiles.length})`,
    ...evidence.touchedFiles.map((f) => `- \`${f}\``),
    '',
    '### Provenance',
    `- policy: ${evidence.policy.name}@${evidence.policy.version} (\`${evidence.policy.hash.slice(0, 12)}\`)`,
    `- execution spec: \`${evidence.specHash}\``,
    `- model: ${evidence.cost.model ?? 'none (deterministic steps only)'}; cost $${evidence.cost.usd.toFixed(4)} (${evidence.cost.promptTokens} prompt + ${evidence.cost.completionTokens} completion tokens)`,
    '',
    '### Artifacts',
    ...evidence.artifacts.map((a) => `- [${a.name}](${a.uri}) — ${a.type}, ${a.size} bytes, sha256 \`${a.sha256}\``),
    '',
    '_Opened by Regatta. Re-running the campaign updates this change request instead of opening another._',
  ].join('\n');
}
