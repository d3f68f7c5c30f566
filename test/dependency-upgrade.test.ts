/**
 * A real dependency upgrade on the registry_only profile: the sandbox installs @acme/logger 2.0.0 through the egress
 * proxy from the host's read-only registry mirror (whose upstream for @acme is the stack's Verdaccio), a step fixes the breaking change, and verification passes in the sandbox.
 * Anything else the sandbox asks the proxy for is refused.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createControlActivities } from '../activities/control';
import { loadConfig } from '../src/config';
import { controlDeps } from '../src/workers/control-deps';
import { realExecutionActivities, startHarness, type RegattaHarness } from './support/harness';
import { fixtureRepo, readStackInfo } from './support/stack';

let harness: RegattaHarness;

beforeAll(async () => {
  harness = await startHarness({
    controlActivities: createControlActivities(controlDeps(loadConfig())),
    executionActivities: realExecutionActivities(),
  });
});
afterAll(async () => harness?.shutdown());

async function artifactsOf(runId: string): Promise<Record<string, string>> {
  const run = await harness.client.runStatus(runId);
  return Object.fromEntries(
    run.manifest!.artifacts.map((a) => [a.name, fs.readFileSync(fileURLToPath(a.uri), 'utf8')]),
  );
}

it('upgrades @acme/logger to 2.x from the internal registry, fixes the breaking change, and verifies it in the sandbox', async () => {
  const target = await fixtureRepo(`fixtures/upgrade-${harness.unique}`);
  const spec = {
    id: `logger-upgrade-${harness.unique}`,
    title: 'Upgrade @acme/logger to 2.x',
    taskType: 'dependency_upgrade' as const,
    targets: [target],
    steps: [
      { recipe: 'npm-upgrade' as const, package: '@acme/logger', version: '^2.0.0' },
      {
        recipe: 'replace' as const,
        name: 'log became info',
        files: ['src/**/*.js'],
        find: 'logger.log(',
        replace: 'logger.info(',
      },
    ],
    verify: { commands: ['npm ci --ignore-scripts --no-audit --no-fund', 'node src/index.js', 'npm test'] },
  };
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id);
  expect(result.runs[0]).toMatchObject({ state: 'published' });

  const artifacts = await artifactsOf(result.runs[0].runId);
  expect(artifacts['patch.diff']).toContain('-    "@acme/logger": "^1.0.0"\n+    "@acme/logger": "^2.0.0"');
  expect(artifacts['patch.diff']).toContain('+logger.info(`catalog ready as');
  expect(artifacts['patch.diff']).toContain('diff --git a/package-lock.json b/package-lock.json');
  expect(artifacts['patch.diff']).not.toContain('node_modules/@acme/logger/index.js');
  const verification = JSON.parse(artifacts['verification.json']);
  expect(verification.verdict).toBe('passed');
  expect(verification.commands[1].output).toContain('[acme] info catalog ready as acme:catalog');
});

it('on registry_only the proxy refuses every destination but the registry mirror', async () => {
  // Asks the egress proxy for the URL it is given and prints the URL with the status, or the error code.
  const probeScript = [
    'const url = process.argv[2];',
    'const proxy = new URL(process.env.HTTP_PROXY);',
    "require('http').get({ host: proxy.hostname, port: proxy.port, path: url }, (r) => console.log(url, r.statusCode)).on('error', (e) => console.log(url, e.code));",
    '',
  ].join('\n');
  const target = await fixtureRepo(`fixtures/egress-${harness.unique}`, { 'scripts/probe-egress.js': probeScript });
  const probe = (url: string) => `node scripts/probe-egress.js '${url}'`;
  const registry = readStackInfo().registryMirror.url;
  const spec = {
    id: `egress-probe-${harness.unique}`,
    title: 'Probe the egress proxy',
    taskType: 'dependency_upgrade' as const,
    targets: [target],
    steps: [
      { recipe: 'command' as const, name: 'registry', run: probe(`${registry}@acme%2flogger`) },
      {
        recipe: 'command' as const,
        name: 'git server',
        run: probe(`${readStackInfo().gitBaseUrl}/acme/billing.git/info/refs`),
      },
    ],
    preview: true,
  };
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id);
  const log = (await artifactsOf(result.runs[0].runId))['steps.log'];
  expect(log).toContain(`${registry}@acme%2flogger 200`);
  expect(log).toContain(`${readStackInfo().gitBaseUrl}/acme/billing.git/info/refs 403`);
});
