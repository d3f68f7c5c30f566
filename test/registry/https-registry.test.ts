/**
 * An organisation's registry over HTTPS, with a certificate from a CA made in this test that the sandbox image does
 * not carry. With the bundle given (REGATTA_CA_BUNDLE), a dependency upgrade installs through it, from the sandbox
 * directly and through the host's mirror; withheld, the run fails as `infra`, naming the certificate problem. The
 * mirror fetches each tarball from the upstream once, however many runs install it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRepo, FLEET, serviceFiles } from '../../src/dev/fleet';
import { LOGGER_PACKAGE } from '../../src/dev/internal-packages';
import { networkProfiles } from '../../src/sandbox/egress';
import type { ExecutionSpec } from '../../src/contracts';
import {
  readArtifact,
  runExecuteRun,
  specFor,
  startExecutionFixture,
  type ExecutionFixture,
} from '../execution/fixture';
import { startCountingUpstream, startTestMirror, type CountingUpstream } from '../support/registry-mirror';
import { readStackInfo } from '../support/stack';
import { makeTestCa, type TestCa } from '../support/test-ca';

let fixture: ExecutionFixture;
let ca: TestCa;
let upstream: CountingUpstream;
let repoUrl: string;

beforeAll(async () => {
  fixture = await startExecutionFixture();
  ca = makeTestCa();
  upstream = await startCountingUpstream(readStackInfo().packageRegistry.url, { key: ca.key, cert: ca.cert });
  await createRepo(
    path.join(fixture.root, 'repos'),
    'acme/catalog',
    serviceFiles(FLEET.find((s) => s.repo === 'acme/catalog')!),
  );
  repoUrl = `${fixture.git.baseUrl}/acme/catalog.git`;
}, 120_000);
afterAll(async () => {
  await upstream?.close();
  await fixture?.close();
  if (ca) fs.rmSync(ca.dir, { recursive: true, force: true });
});

function upgradeSpec(): ExecutionSpec {
  const spec = specFor(repoUrl, [
    { recipe: 'npm-upgrade', package: LOGGER_PACKAGE, version: '^2.0.0' },
    {
      recipe: 'replace',
      name: 'log became info',
      files: ['src/**/*.js'],
      find: 'logger.log(',
      replace: 'logger.info(',
      regex: false,
    },
  ]);
  return {
    ...spec,
    repo: { ...spec.repo, name: 'acme/catalog' },
    network: 'registry_only',
    verify: { commands: ['npm ci --no-audit --no-fund', 'node src/index.js'] },
  };
}

async function upgradeThrough(
  registryUrl: string,
  caBundle: { hostPath?: string; source: 'REGATTA_CA_BUNDLE' | 'none' },
) {
  const network = networkProfiles(fixture.docker, { registryUrl });
  try {
    return await runExecuteRun({ ...fixture.deps, networkFor: network.networkFor, caBundle }, upgradeSpec());
  } finally {
    await network.close();
  }
}

it('installs from the HTTPS registry inside the sandbox when the sandbox is given the bundle', async () => {
  const { result } = await upgradeThrough(upstream.url, { hostPath: ca.bundlePath, source: 'REGATTA_CA_BUNDLE' });
  expect(result.failure).toBeUndefined();
  expect(result.outcome).toBe('changed');
  expect(result.verification.verdict).toBe('passed');
  expect(await readArtifact(fixture, result, 'patch.diff')).toContain(`+    "${LOGGER_PACKAGE}": "^2.0.0"`);
}, 240_000);

it('fails as infra, naming the certificate problem and the registry, when the bundle is withheld', async () => {
  const { result } = await upgradeThrough(upstream.url, { source: 'none' });
  expect(result.outcome).toBe('failed');
  expect(result.failure?.kind).toBe('infra');
  expect(result.failure?.message).toMatch(/127\.0\.0\.1:\d+/);
  expect(result.failure?.message).toMatch(
    /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
  );
  expect(result.failure?.message).toMatch(/REGATTA_CA_BUNDLE/);
}, 240_000);

it('through the host mirror (which trusts the bundle), two runs fetch each tarball from the upstream once', async () => {
  const mirror = await startTestMirror({ upstream: upstream.url, env: { NODE_EXTRA_CA_CERTS: ca.bundlePath } });
  try {
    const before = upstream.tarballRequests().length;
    for (let run = 1; run <= 2; run++) {
      const { result } = await upgradeThrough(mirror.url, { source: 'none' });
      expect([run, result.failure, result.verification.verdict]).toEqual([run, undefined, 'passed']);
    }
    const fetched = upstream.tarballRequests().slice(before);
    expect(fetched.length).toBeGreaterThan(0);
    expect(new Set(fetched).size).toBe(fetched.length);
  } finally {
    await mirror.stop();
  }
}, 300_000);
