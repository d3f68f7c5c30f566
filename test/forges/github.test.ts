/** The github forge at its HTTP boundary: the real client code against a GitHub-shaped server on loopback. */
import { ForgeRateLimitedError, ForgeRequestError, GitHubForge } from '../../src/forges/github';
import type { ChangeRequestDraft } from '../../src/forges/types';
import { startFakeGitHub, type FakeGitHub } from '../support/github-server';

let github: FakeGitHub;
let forge: GitHubForge;
const repo = { name: 'acme/catalog', url: 'https://github.example/acme/catalog.git' };

beforeEach(async () => {
  github = await startFakeGitHub(['acme/catalog']);
  forge = new GitHubForge({ apiUrl: github.apiUrl, token: github.token });
});
afterEach(async () => github.close());

function draft(extra: Partial<ChangeRequestDraft> = {}): ChangeRequestDraft {
  return {
    repo,
    branch: 'regatta/logger-2x',
    base: 'main',
    title: 'Upgrade logger',
    body: 'evidence v1',
    autonomy: 'supervised_pr',
    labels: ['regatta'],
    reviewers: ['alice'],
    headCommit: 'f'.repeat(40),
    ...extra,
  };
}

describe('github forge', () => {
  it('finds or creates one pull request per head branch and updates its body on re-runs', async () => {
    const first = await forge.findOrCreateChangeRequest(draft());
    const second = await forge.findOrCreateChangeRequest(draft({ body: 'evidence v2' }));
    expect(second.number).toBe(first.number);
    const [pull] = github.pulls.get('acme/catalog')!;
    expect(github.pulls.get('acme/catalog')).toHaveLength(1);
    expect(pull).toMatchObject({
      body: 'evidence v2',
      labels: ['regatta'],
      reviewers: ['alice'],
      draft: false,
      base: 'main',
    });
    expect(first).toMatchObject({
      provider: 'github',
      repo: 'acme/catalog',
      branch: 'regatta/logger-2x',
      state: 'open',
      checks: 'none',
    });
  });

  it('opens draft pull requests for draft_only autonomy', async () => {
    expect((await forge.findOrCreateChangeRequest(draft({ autonomy: 'draft_only' }))).draft).toBe(true);
  });

  it('treats 422 "already exists" from a concurrent create as found', async () => {
    github.raceNextCreate = true;
    const cr = await forge.findOrCreateChangeRequest(draft());
    expect(cr.number).toBe(1);
    expect(github.pulls.get('acme/catalog')).toHaveLength(1);
    expect(
      github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/pulls')).map((r) => r.status),
    ).toEqual([422]);
  });

  it('reports merged, closed and failing checks', async () => {
    const cr = await forge.findOrCreateChangeRequest(draft());
    github.checks.set(cr.headCommit, [{ status: 'completed', conclusion: 'failure' }]);
    expect((await forge.findChangeRequest(repo, cr.branch))?.checks).toBe('failing');
    github.pulls.get('acme/catalog')![0].merged_at = '2026-11-22T00:00:00Z';
    github.pulls.get('acme/catalog')![0].state = 'closed';
    expect((await forge.findChangeRequest(repo, cr.branch))?.state).toBe('merged');
    github.pulls.get('acme/catalog')![0].merged_at = null;
    expect((await forge.findChangeRequest(repo, cr.branch))?.state).toBe('closed');
  });

  it('401 and 404 are errors that will not fix themselves, and never echo the token', async () => {
    const wrongToken = new GitHubForge({ apiUrl: github.apiUrl, token: 'ghp_wrongwrongwrongwrongwrongwrong00' });
    const unauthorized = await wrongToken.findChangeRequest(repo, 'regatta/x').catch((e: unknown) => e);
    expect(unauthorized).toBeInstanceOf(ForgeRequestError);
    expect(unauthorized).toMatchObject({
      status: 401,
      retryable: false,
      message: expect.stringContaining('401 Bad credentials; check the forge token'),
    });
    expect((unauthorized as Error).message).not.toContain('ghp_');
    const missing = await forge.findChangeRequest({ name: 'acme/ghost' }, 'regatta/x').catch((e: unknown) => e);
    expect(missing).toMatchObject({
      status: 404,
      retryable: false,
      message: expect.stringContaining('404 Not Found; does the token see this repository?'),
    });
  });

  it('a secondary rate limit (403) and a 429 become ForgeRateLimitedError carrying Retry-After', async () => {
    github.faults.push({ status: 403, retryAfterSeconds: 7, method: 'GET', pathIncludes: '/pulls', times: 1 });
    const secondary = await forge.findChangeRequest(repo, 'regatta/x').catch((e: unknown) => e);
    expect(secondary).toBeInstanceOf(ForgeRateLimitedError);
    expect(secondary).toMatchObject({ retryAfterMs: 7000, message: expect.stringContaining('secondary rate limit') });
    github.faults.push({ status: 429, retryAfterSeconds: 2, method: 'POST', pathIncludes: '/pulls', times: 1 });
    const tooMany = await forge.findOrCreateChangeRequest(draft()).catch((e: unknown) => e);
    expect(tooMany).toMatchObject({ retryAfterMs: 2000 });
    expect(await forge.findOrCreateChangeRequest(draft())).toMatchObject({ number: 1 });
  });

  it('requests users and teams as reviewers, and a reviewer GitHub refuses does not undo the pull request', async () => {
    await forge.findOrCreateChangeRequest(draft({ reviewers: ['alice', 'acme/storefront'] }));
    expect(github.pulls.get('acme/catalog')![0]).toMatchObject({ reviewers: ['alice'], teamReviewers: ['storefront'] });
    github.unrequestable = ['mallory'];
    const cr = await forge.findOrCreateChangeRequest(draft({ branch: 'regatta/other', reviewers: ['mallory'] }));
    expect(cr).toMatchObject({ number: 2, state: 'open' });
  });

  it('lists every page of pull requests, only Regatta branches, and closes and reopens', async () => {
    github.pageSize = 2;
    for (let i = 0; i < 5; i++) await forge.findOrCreateChangeRequest(draft({ branch: `regatta/change-${i}` }));
    github.pulls.get('acme/catalog')!.push({
      ...github.pulls.get('acme/catalog')![0],
      number: 6,
      head: { ref: 'someone/feature', sha: 'e'.repeat(40) },
    });
    expect((await forge.listChangeRequests({ repo: 'acme/catalog' })).map((r) => r.number)).toEqual([1, 2, 3, 4, 5]);
    expect(await forge.closeChangeRequest(repo, 3)).toMatchObject({ state: 'closed' });
    expect((await forge.listChangeRequests({ repo: 'acme/catalog', state: 'closed' })).map((r) => r.number)).toEqual([
      3,
    ]);
    expect(await forge.reopenChangeRequest(repo, 3)).toMatchObject({ state: 'open' });
  });

  it('a GitHub Enterprise base URL keeps its path and names its host', async () => {
    const ghe = new GitHubForge({ apiUrl: `${github.apiUrl}/api/v3/`, token: github.token });
    expect(ghe.hostOf()).toBe(new URL(github.apiUrl).host);
    const missing = await ghe.findChangeRequest(repo, 'regatta/x').catch((e: unknown) => e);
    expect(github.requests.at(-1)?.path).toMatch(/^\/api\/v3\/repos\/acme\/catalog\/pulls\?head=/);
    expect(missing).toMatchObject({ status: 404, kind: 'not_found' });
  });
});
