/**
 * The `github` forge over the REST API (github.com or a GitHub Enterprise base URL): find-or-create pull requests
 * by head branch, drafts for draft_only autonomy, labels, reviewers, body updates, state and checks.
 */
import type { ChangeRequest } from '../../contracts';
import type { ChangeRequestDraft, Forge } from '../types';

export class ForgeRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** Auth and not-found errors will not fix themselves; retrying them only spends rate limit. */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ForgeRequestError';
  }
}

/** The forge asked us to slow down (secondary rate limit or 429); publishing to its host pauses until retryAfterMs. */
export class ForgeRateLimited extends Error {
  constructor(
    readonly host: string,
    readonly retryAfterMs: number,
    detail: string,
  ) {
    super(`${host} is rate limiting publishing for ${Math.ceil(retryAfterMs / 1000)} s: ${detail}`);
    this.name = 'ForgeRateLimited';
  }
}

export interface GitHubForgeOptions {
  /** https://api.github.com, or https://<ghe-host>/api/v3. */
  apiUrl: string;
  token: string;
}

interface PullRequest {
  number: number;
  html_url: string;
  state: 'open' | 'closed';
  merged_at: string | null;
  draft?: boolean;
  head: { ref: string; sha: string };
}

export class GitHubForge implements Forge {
  readonly provider = 'github';
  private readonly apiUrl: string;

  constructor(private readonly options: GitHubForgeOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
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
      pull = await this.request<PullRequest>('PATCH', `/repos/${draft.repo.name}/pulls/${pull.number}`, { title: draft.title, body: draft.body });
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
        if (!(err instanceof ForgeRequestError && err.status === 422 && /already exists/i.test(err.message))) throw err;
        pull = (await this.findPull(draft.repo.name, draft.branch))!;
      }
    }
    if (draft.labels.length) await this.request('POST', `/repos/${draft.repo.name}/issues/${pull.number}/labels`, { labels: draft.labels });
    if (draft.reviewers.length) await this.request('POST', `/repos/${draft.repo.name}/pulls/${pull.number}/requested_reviewers`, { reviewers: draft.reviewers });
    return this.toChangeRequest(draft.repo.name, pull);
  }

  async listChangeRequests(filter: { repo?: string; state?: ChangeRequest['state'] } = {}): Promise<ChangeRequest[]> {
    if (!filter.repo) throw new Error('the github forge lists change requests per repository: pass { repo }');
    const pulls = await this.request<PullRequest[]>('GET', `/repos/${filter.repo}/pulls?state=all&per_page=100`);
    const requests = await Promise.all(pulls.filter((p) => p.head.ref.startsWith('regatta/')).map((p) => this.toChangeRequest(filter.repo!, p)));
    return requests.filter((r) => !filter.state || r.state === filter.state);
  }

  async closeChangeRequest(repo: { name: string }, number: number): Promise<ChangeRequest> {
    const pull = await this.request<PullRequest>('PATCH', `/repos/${repo.name}/pulls/${number}`, { state: 'closed' });
    return this.toChangeRequest(repo.name, pull);
  }

  private async findPull(repo: string, branch: string): Promise<PullRequest | undefined> {
    const owner = repo.split('/')[0];
    const pulls = await this.request<PullRequest[]>('GET', `/repos/${repo}/pulls?head=${encodeURIComponent(`${owner}:${branch}`)}&state=all&per_page=10`);
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
    };
  }

  private async checks(repo: string, sha: string): Promise<ChangeRequest['checks']> {
    const { check_runs: runs } = await this.request<{ check_runs: { status: string; conclusion: string | null }[] }>('GET', `/repos/${repo}/commits/${sha}/check-runs`);
    if (runs.length === 0) return 'none';
    if (runs.some((r) => r.conclusion && !['success', 'neutral', 'skipped'].includes(r.conclusion))) return 'failing';
    return runs.every((r) => r.status === 'completed') ? 'passing' : 'pending';
  }

  private async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${this.options.token}`,
        'x-github-api-version': '2022-11-28',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.ok) return (response.status === 204 ? undefined : await response.json()) as T;
    const text = await response.text();
    const message = safeMessage(text);
    const where = `${method} ${path} on ${this.hostOf()}`;
    if (response.status === 429 || (response.status === 403 && /secondary rate limit|rate limit exceeded/i.test(message))) {
      throw new ForgeRateLimited(this.hostOf(), retryAfterMs(response), message);
    }
    if (response.status === 401) throw new ForgeRequestError(`${where}: 401 ${message}; check the forge token`, 401, false);
    if (response.status === 404) throw new ForgeRequestError(`${where}: 404 ${message}; does the token see this repository?`, 404, false);
    if (response.status === 422) throw new ForgeRequestError(`${where}: 422 ${message}`, 422, false);
    throw new ForgeRequestError(`${where}: ${response.status} ${message}`, response.status, response.status >= 500);
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

function retryAfterMs(response: Response): number {
  const retryAfter = Number(response.headers.get('retry-after'));
  if (Number.isFinite(retryAfter) && retryAfter > 0) return retryAfter * 1000;
  const reset = Number(response.headers.get('x-ratelimit-reset'));
  if (Number.isFinite(reset) && reset > 0) return Math.max(1000, reset * 1000 - Date.now());
  return 60_000;
}
