/** Reviewers read the verification's summary line (test counts, the lifecycle script that failed) above its table. */
import type { PublishRequest } from '../../src/contracts';
import { changeRequestBody } from '../../src/forges/body';

function request(verification: PublishRequest['evidence']['verification']): PublishRequest {
  const artifact = {
    name: 'patch.diff',
    type: 'patch' as const,
    uri: 'file:///artifacts/runs/x/1/patch.diff',
    sha256: 'a'.repeat(64),
    size: 10,
  };
  return {
    runId: 'run/c/acme/catalog',
    campaignId: 'c',
    title: 'Upgrade uvu',
    repo: { name: 'acme/catalog', url: 'http://127.0.0.1:8480/acme/catalog.git', ref: 'master' },
    branch: 'regatta/c',
    autonomy: 'supervised_pr',
    patch: artifact,
    evidence: {
      summary: 'Upgrade uvu (dependency), requested by alice',
      steps: ['npm-upgrade uvu'],
      touchedFiles: ['package.json'],
      verification,
      cost: { promptTokens: 0, completionTokens: 0, usd: 0 },
      policy: { name: 'regatta-default', version: '2026.11.1', hash: 'b'.repeat(64) },
      specHash: 'c'.repeat(64),
      artifacts: [artifact],
    },
  };
}

it('puts the verification summary between its heading and the command table', () => {
  const summary = '`npm test` passed: 169 of 171 tests passed (2 skipped)';
  const command = {
    command: 'npm test',
    exitCode: 0,
    durationMs: 4100,
    output: '',
    outputTruncated: false,
    tests: { source: 'tap' as const, tests: 171, passed: 169, failed: 0, skipped: 2 },
  };
  const body = changeRequestBody(request({ verdict: 'passed', commands: [command], summary }), 'http://ui/run');
  expect(body).toContain(`### Verification: passed\n${summary}\n\n| command | result | duration |`);
});

it('leaves the heading followed by the table when no test counts were found', () => {
  const body = changeRequestBody(
    request({
      verdict: 'passed',
      commands: [{ command: 'npm run build', exitCode: 0, durationMs: 900, output: '', outputTruncated: false }],
    }),
    'http://ui/run',
  );
  expect(body).toContain('### Verification: passed\n| command | result | duration |');
});
