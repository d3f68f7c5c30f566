/** The change request body as reviewers read it: evidence first, bounded in size, tables that stay tables. */
import type { PublishRequest } from '../../src/contracts';
import { changeRequestBody, MAX_BODY_CHARS } from '../../src/forges/body';

function request(touchedFiles: string[], command = 'npm test'): PublishRequest {
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
    title: 'Upgrade logger',
    repo: { name: 'acme/catalog', url: 'http://127.0.0.1:8480/acme/catalog.git', ref: 'main' },
    branch: 'regatta/c',
    autonomy: 'supervised_pr',
    patch: artifact,
    evidence: {
      summary: 'Upgrade logger (dependency), requested by alice',
      steps: ['npm-upgrade @acme/logger'],
      touchedFiles,
      verification: {
        verdict: 'passed',
        commands: [{ command, exitCode: 0, durationMs: 1500, output: '', outputTruncated: false }],
      },
      cost: { model: 'gpt-test', promptTokens: 1200, completionTokens: 300, usd: 0.0123 },
      policy: { name: 'regatta-default', version: '2026.11.1', hash: 'b'.repeat(64) },
      specHash: 'c'.repeat(64),
      artifacts: [artifact],
      approvedBy: 'bob',
    },
  };
}

describe('change request body', () => {
  it('carries summary, steps, verifier results, files, policy, model, cost, artifacts and the run link', () => {
    const body = changeRequestBody(
      request(['package.json', 'src/log.js']),
      'http://127.0.0.1:8233/namespaces/default/workflows/run%2Fc%2Facme%2Fcatalog',
    );
    for (const expected of [
      'Upgrade logger (dependency), requested by alice',
      'run [`run/c/acme/catalog`](http://127.0.0.1:8233/namespaces/default/workflows/run%2Fc%2Facme%2Fcatalog) · approved by bob',
      '- npm-upgrade @acme/logger',
      '| `npm test` | passed | 1500 ms |',
      '### Files changed (2)\n- `package.json`\n- `src/log.js`',
      '- policy: regatta-default@2026.11.1 (`bbbbbbbbbbbb`)',
      '- model: gpt-test; cost $0.0123 (1200 prompt + 300 completion tokens)',
      '- [patch.diff](file:///artifacts/runs/x/1/patch.diff) — patch, 10 bytes',
      '<!-- regatta {"campaign":"c","run":"run/c/acme/catalog","spec":"' + 'c'.repeat(64) + '"} -->',
    ]) {
      expect(body).toContain(expected);
    }
  });

  it('names the toolchain the run used and what chose each version', () => {
    const base = request(['package.json']);
    const toolchain = [
      { name: 'node', version: '22.23.5', source: 'engines.node', declared: '^22.12' },
      { name: 'pnpm', version: '9.15.0', source: 'packageManager' },
      { name: 'npm', version: '12.2.2', source: 'default' },
    ];
    const body = changeRequestBody({ ...base, evidence: { ...base.evidence, toolchain } }, 'http://ui/run');
    expect(body).toContain(
      '- toolchain: node 22.23.5 (engines.node `^22.12`), pnpm 9.15.0 (packageManager), npm 12.2.2 (default)\n',
    );
    expect(changeRequestBody(base, 'http://ui/run')).not.toContain('- toolchain:');
  });

  it('lists at most two hundred files, keeps a pipe in a command inside its cell, and stays under the forge limit', () => {
    const files = Array.from({ length: 5000 }, (_, i) => `packages/p${i}/${'deep/'.repeat(10)}index.js`);
    const body = changeRequestBody(request(files, 'npm test | tee out.txt'), 'http://ui/run');
    expect(body).toContain('### Files changed (5000)');
    expect(body).toContain('- … and 4800 more (see the patch artifact)');
    expect(body).toContain('| `npm test \\| tee out.txt` | passed |');
    expect(body.length).toBeLessThanOrEqual(MAX_BODY_CHARS + 100);
  });

  it("lists the patch audit's findings with what policy made of each, and the judge's verdict and reasons", () => {
    const base = request(['package-lock.json']);
    const audit = {
      verdict: 'needs_approval' as const,
      findings: [
        {
          kind: 'lockfile_changed' as const,
          file: 'package-lock.json',
          line: 1,
          reason: 'lockfile changed, and the task (refactor) is not a dependency upgrade',
          effect: 'needs_approval' as const,
        },
      ],
      judge: { verdict: 'approve' as const, reasons: ['in scope'], model: 'judge-1', effect: 'allow' as const },
    };
    const body = changeRequestBody({ ...base, evidence: { ...base.evidence, audit } }, 'http://ui/run');
    expect(body).toContain(
      '### Patch audit\n| finding | where | why | policy |\n|---|---|---|---|\n' +
        '| lockfile_changed | `package-lock.json`:1 | lockfile changed, and the task (refactor) is not a dependency upgrade | needs_approval |\n',
    );
    expect(body).toContain('Judge (judge-1): approve, allow\n- in scope\n');
    const clean = changeRequestBody(
      { ...base, evidence: { ...base.evidence, audit: { verdict: 'allow', findings: [] } } },
      'http://ui/run',
    );
    expect(clean).toContain('### Patch audit\nThe patch audit found nothing');
    expect(changeRequestBody(base, 'http://ui/run')).not.toContain('### Patch audit');
  });
});
