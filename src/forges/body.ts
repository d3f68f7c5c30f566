/** The change request's body is its evidence: what was asked, what ran, what passed, what changed, and where to look. */
import type { PublishRequest } from '../contracts';
import { describePreExisting } from '../verification/baseline';

/** GitHub refuses bodies over 65,536 characters; long lists are cut to stay well under it. */
export const MAX_BODY_CHARS = 60_000;
const MAX_LISTED_FILES = 200;

export function changeRequestBody(request: PublishRequest, runUiUrl: string): string {
  const { evidence } = request;
  const verifier = evidence.verification.commands.map(
    (c) =>
      `| \`${cell(c.command)}\` | ${c.exitCode === 0 ? 'passed' : `exit ${c.exitCode}`} | ${Math.round(c.durationMs)} ms |`,
  );
  const files = evidence.touchedFiles.slice(0, MAX_LISTED_FILES).map((f) => `- \`${cell(f)}\``);
  if (evidence.touchedFiles.length > MAX_LISTED_FILES)
    files.push(`- … and ${evidence.touchedFiles.length - MAX_LISTED_FILES} more (see the patch artifact)`);
  const body = [
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
    ...(evidence.verification.summary ? [evidence.verification.summary, ''] : []),
    '| command | result | duration |',
    '|---|---|---|',
    ...verifier,
    '',
    ...baselineSection(evidence.verification),
    `### Files changed (${evidence.touchedFiles.length})`,
    ...files,
    '',
    ...auditSection(evidence.audit),
    '### Provenance',
    `- policy: ${evidence.policy.name}@${evidence.policy.version} (\`${evidence.policy.hash.slice(0, 12)}\`)`,
    `- execution spec: \`${evidence.specHash}\``,
    ...(evidence.toolchain?.length ? [`- toolchain: ${toolchainText(evidence.toolchain)}`] : []),
    `- model: ${evidence.cost.model ?? 'none (deterministic steps only)'}; cost $${evidence.cost.usd.toFixed(4)} (${evidence.cost.promptTokens} prompt + ${evidence.cost.completionTokens} completion tokens)`,
    '',
    '### Artifacts',
    ...evidence.artifacts.map((a) => `- [${a.name}](${a.uri}) — ${a.type}, ${a.size} bytes, sha256 \`${a.sha256}\``),
    '',
    '_Opened by Regatta. Re-running the campaign updates this change request instead of opening another._',
    // For tools that read change requests back: which campaign, run and spec this one came from.
    `<!-- regatta ${JSON.stringify({ campaign: request.campaignId, run: request.runId, spec: evidence.specHash })} -->`,
  ].join('\n');
  return body.length <= MAX_BODY_CHARS
    ? body
    : `${body.slice(0, MAX_BODY_CHARS)}\n\n_(cut at ${MAX_BODY_CHARS} characters; the full evidence is in the artifacts)_`;
}

/** The baseline on the base commit: what already failed there, and what it ran. */
function baselineSection(verification: PublishRequest['evidence']['verification']): string[] {
  const baseline = verification.baseline;
  if (!baseline) return [];
  const onBase = describePreExisting(verification);
  const ran = `Baseline on \`${baseline.commit.slice(0, 12)}\`: ${baseline.testsRun} tests executed, ${baseline.failed} failed${baseline.cached ? ' (cached)' : ''}.`;
  return [ran, ...(onBase ? [`${cell(onBase)} (not caused by this change).`] : []), ''];
}

/** What the patch audit found, and what policy made of each finding; absent for requests made before the audit. */
function auditSection(audit: PublishRequest['evidence']['audit']): string[] {
  if (!audit) return [];
  const findings = audit.findings.map(
    (f) => `| ${f.kind} | \`${cell(f.file)}\`${f.line ? `:${f.line}` : ''} | ${cell(f.reason)} | ${f.effect ?? ''} |`,
  );
  const judge = audit.judge
    ? [`Judge${audit.judge.model ? ` (${audit.judge.model})` : ''}: ${audit.judge.verdict}, ${audit.judge.effect}`]
        .concat(audit.judge.reasons.map((r) => `- ${r}`))
        .concat([''])
    : [];
  return [
    '### Patch audit',
    ...(findings.length
      ? ['| finding | where | why | policy |', '|---|---|---|---|', ...findings, '']
      : [
          'The patch audit found nothing: no test deleted, skipped or weakened, no test configuration, CI or lockfile edit.',
          '',
        ]),
    ...judge,
  ];
}

/** "node 22.23.5 (.nvmrc `22`), npm 11.6.2 (default)": what the sandbox ran, and what chose each version. */
function toolchainText(tools: NonNullable<PublishRequest['evidence']['toolchain']>): string {
  return tools
    .map(
      (t) =>
        `${t.name} ${t.version} (${t.source}${t.declared && t.declared !== t.version ? ` \`${cell(t.declared)}\`` : ''})`,
    )
    .join(', ');
}

/** Text inside a table cell or code span: a pipe or backtick from a command or path must not end it early. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/`/g, "'");
}
