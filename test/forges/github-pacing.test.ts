/**
 * The github forge under a slow or rate-limiting GitHub: the real client code against a GitHub-shaped server on
 * loopback that hangs, sends Retry-After in both forms, or counts requests against a primary rate limit.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ForgeRateLimitedError, ForgeRequestError, GitHubForge } from '../../src/forges/github';
import { startFakeGitHub, type FakeGitHub } from '../support/github-server';

jest.setTimeout(120_000);

const repo = { name: 'acme/catalog', url: 'https://github.example/acme/catalog.git' };
let github: FakeGitHub;

beforeEach(async () => {
  github = await startFakeGitHub(['acme/catalog']);
});
afterEach(async () => github.close());

/** A server that takes every request and never answers. */
async function startSilentServer(): Promise<{ apiUrl: string; close(): Promise<void> }> {
  const server = http.createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('github forge pacing', () => {
  it('a request the forge never answers ends at its deadline as a retryable "unavailable" error naming the request', async () => {
    const silent = await startSilentServer();
    try {
      const forge = new GitHubForge({ apiUrl: silent.apiUrl, token: github.token, requestTimeoutMs: 500 });
      const started = Date.now();
      const err = await forge.findChangeRequest(repo, 'regatta/logger-2x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ForgeRequestError);
      expect(err).toMatchObject({ kind: 'unavailable', retryable: true });
      expect((err as Error).message).toMatch(
        /^GET \/repos\/acme\/catalog\/pulls\?head=acme%3Aregatta%2Flogger-2x.* on 127\.0\.0\.1:\d+: no answer within 0\.5 s/,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    } finally {
      await silent.close();
    }
  });

  it.each([
    ['delta-seconds', false],
    ['an HTTP-date', true],
  ])(
    'Retry-After as %s is carried by the error and no request goes out before it has passed',
    async (_form, retryAfterAsDate) => {
      const forge = new GitHubForge({ apiUrl: github.apiUrl, token: github.token });
      github.faults.push({
        status: 429,
        retryAfterSeconds: 3,
        retryAfterAsDate,
        method: 'GET',
        pathIncludes: '/pulls',
        times: 1,
      });

      const limited = await forge.findChangeRequest(repo, 'regatta/x').catch((e: unknown) => e);
      expect(limited).toBeInstanceOf(ForgeRateLimitedError);
      const { retryAfterMs } = limited as ForgeRateLimitedError;
      // An HTTP-date has whole seconds, so it names a moment between 2 and 3 seconds ahead.
      expect(retryAfterMs).toBeGreaterThanOrEqual(retryAfterAsDate ? 1_000 : 3_000);
      expect(retryAfterMs).toBeLessThanOrEqual(3_000);

      expect(await forge.findChangeRequest(repo, 'regatta/x')).toBeUndefined();
      const [refused, next] = github.requests;
      expect([refused.status, next.status]).toEqual([429, 200]);
      expect(next.at - refused.at).toBeGreaterThanOrEqual(retryAfterMs);
    },
  );

  it('with no more than the reserve left, the next request waits for the reset instead of being refused', async () => {
    github.rateLimit = { limit: 10, windowMs: 3_000 };
    const forge = new GitHubForge({ apiUrl: github.apiUrl, token: github.token, rateLimitReserve: 2 });

    for (let i = 0; i < 20; i++) expect(await forge.findChangeRequest(repo, `regatta/change-${i}`)).toBeUndefined();

    expect(github.requests.filter((r) => r.status !== 200)).toEqual([]);
    const windows = [...github.rateWindows.values()];
    expect(windows.map((w) => w.refused)).toEqual(windows.map(() => 0));
    // No window is spent past its limit less the reserve: the client waited for the next one instead.
    expect(Math.max(...windows.map((w) => w.count))).toBeLessThanOrEqual(8);
    expect(windows.reduce((sum, w) => sum + w.count, 0)).toBe(20);
  });

  it('a reset further away than the client may wait fails at once with the wait, sending nothing', async () => {
    github.rateLimit = { limit: 5, windowMs: 3_600_000 };
    const forge = new GitHubForge({
      apiUrl: github.apiUrl,
      token: github.token,
      rateLimitReserve: 2,
      maxRateLimitWaitMs: 1_000,
    });
    for (let i = 0; i < 3; i++) await forge.findChangeRequest(repo, `regatta/change-${i}`);

    const waiting = await forge.findChangeRequest(repo, 'regatta/change-3').catch((e: unknown) => e);
    expect(waiting).toBeInstanceOf(ForgeRateLimitedError);
    expect((waiting as ForgeRateLimitedError).retryAfterMs).toBeGreaterThan(3_500_000);
    expect((waiting as Error).message).toMatch(
      /2 requests left of the rate limit, within the reserve of 2, until it resets at .*; GET \/repos\/acme\/catalog\/pulls\?head=.* was not sent/,
    );
    expect(github.requests).toHaveLength(3);
  });
});
