/**
 * The host's registry mirror, for real: Verdaccio behind the read-only guard, its upstream the stack's Verdaccio seen
 * through a counting front that can be switched off. Reads are cached and shared, writes refused, corrupt copies never
 * served, the cache bounded, and an upstream outage does not stop what is cached.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOGGER_PACKAGE } from '../../src/dev/internal-packages';
import { eventually } from '../support/eventually';
import { readStackInfo } from '../support/stack';
import {
  startCountingUpstream,
  startTestMirror,
  type CountingUpstream,
  type TestMirror,
} from '../support/registry-mirror';

const SCOPE = LOGGER_PACKAGE.split('/')[0]!;
let upstream: CountingUpstream;

beforeAll(async () => {
  upstream = await startCountingUpstream(readStackInfo().packageRegistry.url);
});
afterAll(async () => upstream?.close());

async function tarballUrl(mirror: TestMirror, version: string): Promise<string> {
  const meta = (await (await fetch(`${mirror.url}${encodeURIComponent(LOGGER_PACKAGE)}`)).json()) as {
    versions: Record<string, { dist: { tarball: string } }>;
  };
  return meta.versions[version]!.dist.tarball;
}

function sha512(body: Buffer): string {
  return `sha512-${createHash('sha512').update(body).digest('base64')}`;
}

function storedTarball(mirror: TestMirror, version: string): string {
  return path.join(mirror.storage, LOGGER_PACKAGE, `logger-${version}.tgz`);
}

/** A scratch project that depends on the logger, installed by the host's npm from the mirror. */
function npmInstall(registry: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-mirror-client-'));
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'client', version: '1.0.0', dependencies: { [LOGGER_PACKAGE]: '^2.0.0' } }),
  );
  execFileSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--registry', registry, '--cache', path.join(dir, '.npm')],
    { cwd: dir, stdio: 'pipe' },
  );
  return dir;
}

describe('the registry mirror', () => {
  let mirror: TestMirror;
  beforeAll(async () => {
    mirror = await startTestMirror({ upstream: upstream.url, scopes: { [SCOPE]: upstream.url } });
  });
  afterAll(async () => mirror?.stop());

  it('serves a tarball whose bytes match the integrity its metadata gives, fetching it upstream once', async () => {
    const url = await tarballUrl(mirror, '2.0.0');
    expect(url.startsWith(mirror.url)).toBe(true);
    const first = Buffer.from(await (await fetch(url)).arrayBuffer());
    // Verdaccio stores a first-time tarball just after it answers; a request before that would still go upstream.
    await eventually(async () => fs.existsSync(storedTarball(mirror, '2.0.0')), Boolean, 10_000);
    const second = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(second.equals(first)).toBe(true);
    const meta = (await (await fetch(`${upstream.url}${encodeURIComponent(LOGGER_PACKAGE)}`)).json()) as {
      versions: Record<string, { dist: { integrity: string } }>;
    };
    expect(sha512(first)).toBe(meta.versions['2.0.0']!.dist.integrity);
    expect(upstream.tarballRequests().filter((r) => r.endsWith('logger-2.0.0.tgz'))).toHaveLength(1);
  });

  it('fetches a first-time tarball upstream once when several ask for it at once', async () => {
    const url = await tarballUrl(mirror, '1.0.0');
    const asked = () => upstream.tarballRequests().filter((r) => r.endsWith('logger-1.0.0.tgz')).length;
    const before = asked();
    const bodies = await Promise.all(
      Array.from({ length: 6 }, async () => Buffer.from(await (await fetch(url)).arrayBuffer())),
    );
    expect(bodies.every((body) => body.length > 0 && body.equals(bodies[0]!))).toBe(true);
    expect(asked() - before).toBe(1);
  });

  it('never serves a corrupt cached tarball: it is detected, fetched again and served intact', async () => {
    const url = await tarballUrl(mirror, '2.0.0');
    const good = Buffer.from(await (await fetch(url)).arrayBuffer());
    const before = upstream.tarballRequests().length;
    fs.writeFileSync(storedTarball(mirror, '2.0.0'), Buffer.from('not a tarball'));
    const answer = await fetch(url);
    expect(answer.status).toBe(200);
    expect(Buffer.from(await answer.arrayBuffer()).equals(good)).toBe(true);
    expect(upstream.tarballRequests().length).toBe(before + 1);
    await eventually(
      async () =>
        fs.existsSync(storedTarball(mirror, '2.0.0')) && fs.readFileSync(storedTarball(mirror, '2.0.0')).equals(good),
      Boolean,
      10_000,
    );
    expect(mirror.log()).toContain('does not match its sha512 integrity');
  });

  it('refuses registration, login, publish, dist-tags and tokens, whatever the method', async () => {
    const attempts: Array<[string, string]> = [
      ['PUT', '/-/user/org.couchdb.user:mallory'],
      ['GET', '/-/user/org.couchdb.user:mallory'],
      ['PUT', `/${encodeURIComponent(LOGGER_PACKAGE)}`],
      ['DELETE', `/${encodeURIComponent(LOGGER_PACKAGE)}/-rev/1`],
      ['PUT', `/-/package/${encodeURIComponent(LOGGER_PACKAGE)}/dist-tags/latest`],
      ['POST', '/-/npm/v1/tokens'],
      ['GET', '/-/npm/v1/tokens'],
      ['POST', '/-/v1/login'],
    ];
    for (const [method, urlPath] of attempts) {
      const answer = await fetch(`${mirror.url}${urlPath.slice(1)}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: method === 'GET' ? undefined : '{}',
      });
      expect([method, urlPath, answer.status]).toEqual([method, urlPath, 403]);
      expect(((await answer.json()) as { error: string }).error).toMatch(/read-only/);
    }
  });

  it('keeps installing what it has cached while the upstream is down', async () => {
    npmInstall(mirror.url);
    await upstream.suspend();
    try {
      const dir = npmInstall(mirror.url);
      expect(fs.readFileSync(path.join(dir, 'node_modules', LOGGER_PACKAGE, 'index.js'), 'utf8')).toContain(
        'info(message)',
      );
    } finally {
      await upstream.resume();
    }
  }, 120_000);
});

it('keeps its cache under its bound by evicting the least recently served tarballs', async () => {
  const meta = (await (await fetch(`${upstream.url}${encodeURIComponent(LOGGER_PACKAGE)}`)).json()) as {
    versions: Record<string, { dist: { tarball: string } }>;
  };
  const oneTarball = (await (await fetch(meta.versions['1.0.0']!.dist.tarball)).arrayBuffer()).byteLength;
  const mirror = await startTestMirror({
    upstream: upstream.url,
    scopes: { [SCOPE]: upstream.url },
    maxBytes: Math.floor(oneTarball * 1.5),
  });
  try {
    await fetch(await tarballUrl(mirror, '1.0.0')).then((r) => r.arrayBuffer());
    await eventually(async () => fs.existsSync(storedTarball(mirror, '1.0.0')), Boolean, 10_000);
    await fetch(await tarballUrl(mirror, '2.0.0')).then((r) => r.arrayBuffer());
    await eventually(async () => mirror.log().includes('evicted 1 least recently used tarball(s)'), Boolean, 10_000);
    expect(fs.existsSync(storedTarball(mirror, '2.0.0'))).toBe(true);
    expect(fs.existsSync(storedTarball(mirror, '1.0.0'))).toBe(false);
  } finally {
    await mirror.stop();
  }
});
