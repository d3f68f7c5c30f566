/**
 * The `github` forge over the REST API (github.com or a GitHub Enterprise base URL): find-or-create pull requests
 * by head branch, drafts for draft_only autonomy, labels, reviewers, body updates, state and checks. Every request
 * has a deadline, and requests are paced by GitHub's rate-limit headers (rate-limit.ts) so fleet-sized reads wait for
 * the reset instead of being refused.
 */
import type { ChangeRequest } from '../../contracts';
import { CHANGE_BRANCH_PREFIX } from '../../temporal/ids';
import { ForgeRateLimitedError, ForgeRequestError } from '../errors';
import { findRevertCommit } from '../../git/revert';
import type { ChangeRequestDraft, Forge, MergeMethod, RepoRef } from '../types';
import { RateLimitPacer, retryAfterMs } from './rate-limit';

export { ForgeRateLimitedError, ForgeRequestError } from '../errors';

export interface GitHubForgeOptions {
  /** https://api.github.com, or https://<ghe-host>/api/v3. */
  apiUrl: string;
  token: string;
  /** A request without a whole answer by then fails as `unavailable` (retryable). Default 30 s. */
  requestTimeoutMs?: number;
  /** Requests of the hourly allowance never spent, left for people and other tools on the token. Default 100. */
  rateLimitReserve?: number;
  /** The longest rate-limit wait slept in-process; a longer one fails at once as ForgeRateLimitedError. Default 60 s. */
  maxRateLimitWaitMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_RATE_LIMIT_RESERVE = 100;
const DEFAULT_MAX_RATE_LIMIT_WAIT_MS = 60_000;

interface PullRequest {
  number: number;
  html_url: string;
  state: 'open' | 'closed';
  merged_at: string | null;
  draft?: boolean;
  head: { ref: string; sha: string };
  created_at?: string;
  closed_at?: string | null;
  merge_commit_sha?: string | null;
}

export class GitHubForge implements Forge {
  readonly provider = 'github';
  private readonly apiUrl: string;
  private readonly requestTimeoutMs: number;
  private readonly pacer: RateLimitPacer;

  constructor(private readonly options: GitHubForgeOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.pacer = new RateLimitPacer({
      host: this.hostOf(),
      reserve: options.rateLimitReserve ?? DEFAULT_RATE_LIMIT_RESERVE,
      maxWaitMs: options.maxRateLimitWaitMs ?? DEFAULT_MAX_RATE_LIMIT_WAIT_MS,
    });
  }

  hostOf(): string {
    return new URL(this.apiUrl).host;
  }

  gitAuth(): { username: string; password: string } {
    return { username: 'x-access-token', password: this.options.token };
  }

  async findChangeRequest(repo: { name: string }, branch: string): Promise<ChangeRequest | undefined> {
    const pull = await this.findPull(repo.name, branch);
    return pull && (await this.toChangeRequest(repo.name, pull));
  }

  async findOrCreateChangeRequest(draft: ChangeRequestDraft): Promise<ChangeRequest> {
    let pull = await this.findPull(draft.repo.name, draft.branch);
    if (pull) {
      pull = await this.request<PullRequest>('PATCH', `/repos/${draft.repo.name}/pulls/${pull.number}`, {
        title: draft.title,
        body: draft.body,
      });
    } else {
      try {
        pull = await this.request<PullRequest>('POST', `/repos/${draft.repo.name}/pulls`, {
          title: draft.title,
          head: draft.branch,
          base: draft.base,
          body: draft.body,
          draft: draft.autonomy === 'draft_only',
        });
      } catch (err) {
        // Another attempt opened it between our look and our create: find-or-create returns that one.
        if (!(err instanceof ForgeRequestError && err.kind === 'already_exists')) throw err;
        const found = await this.findPull(draft.repo.name, draft.branch);
        // GitHub's search can lag its create; a retry finds it.
        if (!found)
          throw new ForgeRequestError(
            `${this.hostOf()} says a pull request for ${draft.branch} exists in ${draft.repo.name} but does not list it yet`,
            422,
            true,
            'already_exists',
          );
        pull = found;
      }
    }
    if (draft.labels.length)
      await this.request('POST', `/repos/${draft.repo.name}/issues/${pull.number}/labels`, { labels: draft.labels });
    await this.requestReviews(draft.repo.name, pull.number, draft.reviewers);
    return this.toChangeRequest(draft.repo.name, pull);
  }

  /** Best effort: GitHub refuses (422) the author, non-collaborators and unknown teams, and the pull request stands without them. */
  private async requestReviews(repo: string, number: number, owners: string[]): Promise<void> {
    const reviewers = owners.filter((o) => !o.includes('/'));
    const teamReviewers = owners.filter((o) => o.includes('/')).map((o) => o.split('/')[1]);
    if (reviewers.length + teamReviewers.length === 0) return;
    try {
      await this.request('POST', `/repos/${repo}/pulls/${number}/requested_reviewers`, {
        reviewers,
        team_reviewers: teamReviewers,
      });
    } catch (err) {
      if (!(err instanceof ForgeRequestError && err.status === 422)) throw err;
    }
  }

  async listChangeRequests(filter: { repo?: string; state?: ChangeRequest['state'] } = {}): Promise<ChangeRequest[]> {
    if (!filter.repo)
      throw new ForgeRequestError(
        'the github forge lists change requests per repository: pass { repo }',
        400,
        false,
        'invalid',
      );
    const pulls = await this.requestAllPages<PullRequest>(`/repos/${filter.repo}/pulls?state=all&per_page=100`);
    const requests = await Promise.all(
      pulls
        .filter((p) => p.head.ref.startsWith(CHANGE_BRANCH_PREFIX))
        .map((p) => this.toChangeRequest(filter.repo!, p)),
    );
    return requests.filter((r) => !filter.state || r.state === filter.state);
  }

  async closeChangeRequest(repo: { name: string }, number: number): Promise<ChangeRequest> {
    const pull = await this.request<PullRequest>('PATCH', `/repos/${repo.name}/pulls/${number}`, { state: 'closed' });
    return this.toChangeRequest(repo.name, pull);
  }

  async reopenChangeRequest(repo: { name: string }, number: number): Promise<ChangeRequest> {
    const pull = await this.request<PullRequest>('PATCH', `/repos/${repo.name}/pulls/${number}`, { state: 'open' });
    return this.toChangeRequest(repo.name, pull);
  }

  /** PUT …/pulls/{n}/merge; GitHub answers 405 when it cannot merge (conflicts, required checks or reviews missing). */
  async mergeChangeRequest(repo: RepoRef, number: number, options: { method: MergeMethod }): Promise<ChangeRequest> {
    await this.request('PUT', `/repos/${repo.name}/pulls/${number}/merge`, { merge_method: options.method });
    return this.toChangeRequest(
      repo.name,
      await this.request<PullRequest>('GET', `/repos/${repo.name}/pulls/${number}`),
    );
  }

  async commentOnChangeRequest(repo: RepoRef, number: number, body: string): Promise<void> {
    await this.request('POST', `/repos/${repo.name}/issues/${number}/comments`, { body });
  }

  /** Reviewers whose latest review approves (a later "changes requested" withdraws an approval). */
  async approvalCount(repo: RepoRef, number: number): Promise<number> {
    const reviews = await this.requestAllPages<{ user: { login: string } | null; state: string }>(
      `/repos/${repo.name}/pulls/${number}/reviews?per_page=100`,
    );
    const latest = new Map<string, string>();
    for (const review of reviews)
      if (review.user && review.state !== 'COMMENTED') latest.set(review.user.login, review.state);
    return [...latest.values()].filter((state) => state === 'APPROVED').length;
  }

  /** Read over git with the token, as metadata: GitHub's commit search would cost a request per page of history. */
  async findRevert(repo: RepoRef, base: string, mergeCommit: string) {
    return findRevertCommit({ url: repo.url, base, auth: this.gitAuth() }, mergeCommit);
  }

  private async findPull(repo: string, branch: string): Promise<PullRequest | undefined> {
    const owner = repo.split('/')[0];
    const pulls = await this.request<PullRequest[]>(
      'GET',
      `/repos/${repo}/pulls?head=${encodeURIComponent(`${owner}:${branch}`)}&state=all&per_page=10`,
    );
    return pulls.find((p) => p.head.ref === branch);
  }

  private async toChangeRequest(repo: string, pull: PullRequest): Promise<ChangeRequest> {
    return {
      provider: this.provider,
      host: this.hostOf(),
      repo,
      branch: pull.head.ref,
      number: pull.number,
      url: pull.html_url,
      state: pull.merged_at ? 'merged' : pull.state,
      draft: pull.draft ?? false,
      headCommit: pull.head.sha,
      checks: await this.checks(repo, pull.head.sha),
      ...(pull.created_at ? { createdAt: pull.created_at } : {}),
      ...(pull.merged_at ? { mergedAt: pull.merged_at } : {}),
      ...(pull.closed_at && !pull.merged_at ? { closedAt: pull.closed_at } : {}),
      ...(pull.merged_at && pull.merge_commit_sha ? { mergeCommit: pull.merge_commit_sha } : {}),
    };
  }

  private async checks(repo: string, sha: string): Promise<ChangeRequest['checks']> {
    const { check_runs: runs } = await this.request<{ check_runs: { status: string; conclusion: string | null }[] }>(
      'GET',
      `/repos/${repo}/commits/${sha}/check-runs`,
    );
    if (runs.length === 0) return 'none';
    if (runs.some((r) => r.conclusion && !['success', 'neutral', 'skipped'].includes(r.conclusion))) return 'failing';
    return runs.every((r) => r.status === 'completed') ? 'passing' : 'pending';
  }

  private async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.send<T>(method, `${this.apiUrl}${path}`, body)).payload;
  }

  /** Follows `Link: rel="next"` so repositories with more than a page of pull requests are listed whole. */
  private async requestAllPages<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    for (let url: string | undefined = `${this.apiUrl}${path}`; url;) {
      const page: { payload: T[]; next?: string } = await this.send<T[]>('GET', url);
      items.push(...page.payload);
      url = page.next;
    }
    return items;
  }

  private async send<T>(method: string, url: string, body?: unknown): Promise<{ payload: T; next?: string }> {
    const where = `${method} ${url.slice(this.apiUrl.length)} on ${this.hostOf()}`;
    await this.pacer.waitForTurn(where);
    // One deadline for the answer and its body: a server that stalls mid-body must not hold an activity either.
    const signal = AbortSignal.timeout(this.requestTimeoutMs);
    try {
      const response = await fetch(url, {
        method,
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${this.options.token}`,
          'x-github-api-version': '2022-11-28',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
      this.pacer.observe(response.headers);
      if (!response.ok) this.refused(where, response.status, response.headers, await response.text());
      const next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1];
      const payload = (response.status === 204 ? undefined : await response.json()) as T;
      return { payload, next: next?.startsWith(this.apiUrl) ? next : undefined };
    } catch (err) {
      throw this.unanswered(err, where, signal) ?? err;
    }
  }

  private refused(where: string, status: number, headers: Headers, text: string): never {
    const message = safeMessage(text);
    const exhausted = status === 403 && headers.get('x-ratelimit-remaining') === '0';
    if (status === 429 || exhausted || (status === 403 && /secondary rate limit|rate limit exceeded/i.test(message))) {
      const waitMs = retryAfterMs(headers);
      this.pacer.hold(waitMs, `${status} on ${where}`);
      throw new ForgeRateLimitedError(this.hostOf(), waitMs, message);
    }
    if (status === 401) throw new ForgeRequestError(`${where}: 401 ${message}; check the forge token`, 401, false);
    if (status === 404)
      throw new ForgeRequestError(`${where}: 404 ${message}; does the token see this repository?`, 404, false);
    if (status === 422)
      throw new ForgeRequestError(
        `${where}: 422 ${message}`,
        422,
        false,
        /already exists/i.test(message) ? 'already_exists' : 'invalid',
      );
    throw new ForgeRequestError(`${where}: ${status} ${message}`, status, status >= 500);
  }

  /** No answer at all (the deadline passed, or no connection): the forge is unavailable for now, and a retry may reach it. */
  private unanswered(err: unknown, where: string, signal: AbortSignal): ForgeRequestError | undefined {
    if (err instanceof ForgeRequestError || err instanceof ForgeRateLimitedError) return undefined;
    if (signal.aborted) {
      return new ForgeRequestError(
        `${where}: no answer within ${this.requestTimeoutMs / 1000} s; the forge is slow or unreachable, and a retry will ask again`,
        0,
        true,
        'unavailable',
      );
    }
    // fetch reports a refused or dropped connection as a TypeError with the socket's error as its cause.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (err instanceof TypeError && cause) {
      return new ForgeRequestError(
        `${where}: cannot reach the forge (${cause.code ?? cause.message ?? err.message}); a retry will ask again`,
        0,
        true,
        'unavailable',
      );
    }
    return undefined;
  }
}

/** GitHub's error body, without echoing anything that could be a credential. */
function safeMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: string; errors?: { message?: string }[] };
    return [parsed.message, ...(parsed.errors ?? []).map((e) => e.message)].filter(Boolean).join(': ');
  } catch {
    return text.slice(0, 200);
  }
}
