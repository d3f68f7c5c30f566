/**
 * Done, for real repositories: one campaign upgrades @acme/logger across a fleet that looks like the world's — three
 * repositories on three Node.js versions (an .nvmrc, engines, the spec), one locked with pnpm, one a native addon built by
 * node-gyp, default branches `master` and `trunk`, pretest/posttest scripts — installing through the host's mirror from
 * an HTTPS registry whose certificate comes from the organisation's own CA. Every run is published. A second campaign
 * over the same fleet installs from the host's cache: the registry never sees a tarball asked for twice.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createControlActivities } from '../activities/control';
import { loadConfig } from '../src/config';
import { LOGGER_PACKAGE } from '../src/dev/internal-packages';
import { controlDeps } from '../src/workers/control-deps';
import { realExecutionActivities, startHarness, type RegattaHarness } from './support/harness';
import { integrityOf, pnpmLockfile } from './support/lockfiles';
import {
  startCountingUpstream,
  startTestMirror,
  type CountingUpstream,
  type TestMirror,
} from './support/registry-mirror';
import { fixtureRepo, readStackInfo } from './support/stack';
import { HASHER_FILES } from './support/native-addon';
import { makeTestCa, type TestCa } from './support/test-ca';
import type { Target } from '../src/contracts';

let ca: TestCa;
let upstream: CountingUpstream;
let mirror: TestMirror;
let harness: RegattaHarness;

beforeAll(async () => {
  ca = makeTestCa();
  upstream = await startCountingUpstream(readStackInfo().packageRegistry.url, { key: ca.key, cert: ca.cert });
  mirror = await startTestMirror({ upstream: upstream.url, env: { NODE_EXTRA_CA_CERTS: ca.bundlePath } });
  harness = await startHarness({
    controlActivities: createControlActivities(controlDeps(loadConfig())),
    executionActivities: realExecutionActivities(mirror.url),
  });
}, 120_000);
afterAll(async () => {
  await harness?.shutdown();
  await mirror?.stop();
  await upstream?.close();
  if (ca) fs.rmSync(ca.dir, { recursive: true, force: true });
});

function manifest(name: string, fields: Record<string, unknown>): string {
  return `${JSON.stringify({ name: `@acme/${name}`, version: '3.1.0', private: true, main: 'src/index.js', ...fields, dependencies: { [LOGGER_PACKAGE]: '^1.0.0' } }, null, 2)}\n`;
}

const INDEX = (name: string, extra = '') =>
  `const logger = require('${LOGGER_PACKAGE}');\n${extra}logger.log(\`${name} on node \${process.versions.node}\`);\n`;

async function fleet(suffix: string): Promise<Target[]> {
  const integrity = await integrityOf(mirror.url, LOGGER_PACKAGE, '1.0.0');
  return Promise.all([
    fixtureRepo(
      `fixtures/ledger-${suffix}`,
      {
        '.nvmrc': 'v20\n',
        'package.json': manifest('ledger', {
          scripts: {
            pretest: 'npm ci --no-audit --no-fund',
            test: 'node src/index.js',
            posttest: 'node -e "console.log(\\"ledger ok\\")"',
          },
        }),
        'src/index.js': INDEX('ledger'),
      },
      { ref: 'master' },
    ),
    fixtureRepo(`fixtures/inventory-${suffix}`, {
      'package.json': manifest('inventory', {
        packageManager: 'pnpm@9.15.9',
        engines: { node: '^22.12' },
        scripts: { pretest: 'pnpm install --frozen-lockfile', test: 'node src/index.js' },
      }),
      'pnpm-lock.yaml': pnpmLockfile({
        section: 'dependencies',
        name: LOGGER_PACKAGE,
        specifier: '^1.0.0',
        version: '1.0.0',
        integrity,
      }),
      'src/index.js': INDEX('inventory'),
    }),
    fixtureRepo(
      `fixtures/checksum-${suffix}`,
      {
        ...HASHER_FILES,
        '.gitignore': 'node_modules/\nbuild/\n',
        'package.json': manifest('checksum', {
          main: 'index.js',
          gypfile: true,
          scripts: { pretest: 'npm install --no-audit --no-fund', test: 'node test.js && node src/index.js' },
        }),
        'src/index.js': INDEX('checksum'),
      },
      { ref: 'trunk' },
    ),
  ]);
}

function upgradeCampaign(id: string, targets: Target[], preview: boolean) {
  return {
    id,
    title: 'Upgrade @acme/logger to 2.x',
    taskType: 'dependency_upgrade' as const,
    targets,
    steps: [
      { recipe: 'npm-upgrade' as const, package: LOGGER_PACKAGE, version: '^2.0.0' },
      {
        recipe: 'replace' as const,
        name: 'log became info',
        files: ['src/**/*.js'],
        find: 'logger.log(',
        replace: 'logger.info(',
      },
    ],
    verify: { commands: ['npm test'] },
    preview,
  };
}

async function artifact(runId: string, name: string): Promise<string> {
  const run = await harness.client.runStatus(runId);
  return fs.readFileSync(fileURLToPath(run.manifest!.artifacts.find((a) => a.name === name)!.uri), 'utf8');
}

it('upgrades a fleet on three Node.js versions, pnpm and a native addon, through an HTTPS registry behind its own CA; a second campaign installs from the host cache', async () => {
  const targets = await fleet(harness.unique);
  // The fleet's production-critical rule does not apply: these fixtures carry no tier.
  const first = upgradeCampaign(`real-repos-${harness.unique}`, targets, false);
  await harness.client.startCampaign(first);
  const result = await harness.client.campaignResult(first.id);
  expect(result.runs.map((r) => [r.repo, r.state, r.failure?.message ?? ''])).toEqual(
    targets.map((t) => [t.repo, 'published', '']),
  );

  const byRepo = Object.fromEntries(result.runs.map((r) => [r.repo, r.runId]));
  const verification = async (repo: string) =>
    JSON.parse(await artifact(byRepo[repo]!, 'verification.json')) as { commands: Array<{ output: string }> };
  expect((await verification(targets[0]!.repo)).commands[0]!.output).toMatch(
    /\[acme\] info ledger on node 20\.\d+\.\d+[\s\S]*ledger ok/,
  );
  expect((await verification(targets[1]!.repo)).commands[0]!.output).toMatch(
    /\[acme\] info inventory on node 22\.\d+\.\d+/,
  );
  expect((await verification(targets[2]!.repo)).commands[0]!.output).toMatch(
    /fnv1a native ok[\s\S]*\[acme\] info checksum on node \d+\.\d+\.\d+/,
  );
  expect(await artifact(byRepo[targets[1]!.repo]!, 'patch.diff')).toContain(
    'diff --git a/pnpm-lock.yaml b/pnpm-lock.yaml',
  );
  expect(await artifact(byRepo[targets[0]!.repo]!, 'patch.diff')).toContain(`+    "${LOGGER_PACKAGE}": "^2.0.0"`);

  const second = upgradeCampaign(`real-repos-again-${harness.unique}`, targets, true);
  await harness.client.startCampaign(second);
  const again = await harness.client.campaignResult(second.id);
  expect(again.runs.map((r) => r.state)).toEqual(['changed', 'changed', 'changed']);

  const tarballs = upstream.tarballRequests();
  expect(tarballs.length).toBeGreaterThan(0);
  expect(new Set(tarballs).size).toBe(tarballs.length);
}, 900_000);
