/**
 * A GitHub-shaped REST server on loopback: the pull-request endpoints Regatta uses, GitHub's error shapes,
 * and injectable faults (secondary rate limit, 429 with Retry-After). Only the forge's HTTP boundary is faked.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface Pull {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  merged_at: string | null;
  draft: boolean;
  base: string;
  head: { ref: string; sha: string };
  labels: string[];
  reviewers: string[];
  teamReviewers: string[];
  /** False makes the merge endpoint answer 405, as GitHub does for a conflicting pull request. */
  mergeable?: boolean;
  merge_commit_sha?: string | null;
  merge_method?: string;
  comments?: string[];
  reviews?: { user: { login: string }; state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' }[];
}

export interface Fault {
  status: 403 | 429;
  retryAfterSeconds: number;
  /** Send Retry-After as an HTTP-date that many seconds ahead instead of as delta-seconds. */
  retryAfterAsDate?: boolean;
  /** Only requests with this method and a path containing this text fail. */
  method: string;
  pathIncludes: string;
  times: number;
}

export interface FakeGitHub {
  apiUrl: string;
  token: string;
  pulls: Map<string, Pull[]>;
  requests: { method: string; path: string; at: number; status: number }[];
  faults: Fault[];
  checks: Map<string, { status: string; conclusion: string | null }[]>;
  /** Makes the next create look like a concurrent one: the pull appears and the create answers 422. */
  raceNextCreate: boolean;
  /** Users GitHub refuses as reviewers (422), like the token's own user, who authored the pull request. */
  unrequestable: string[];
  /** Pulls per page when listing, so pagination through `Link` is exercised. */
  pageSize: number;
  /** GitHub's primary rate limit: a window opens with the first request after the last one closed; `x-ratelimit-*` on every answer, 403 past the limit. */
  rateLimit?: { limit: number; windowMs: number };
  /** Requests per rate-limit window (keyed by the window's start, epoch ms), refused ones included. */
  rateWindows: Map<number, { count: number; refused: number }>;
  close(): Promise<void>;
}

export async function startFakeGitHub(
  repos: string[],
  token = 'ghp_fakefakefakefakefakefakefakefake01',
): Promise<FakeGitHub> {
  const state: Omit<FakeGitHub, 'apiUrl' | 'close'> = {
    token,
    pulls: new Map(repos.map((r) => [r, []])),
    requests: [],
    faults: [],
    checks: new Map(),
    raceNextCreate: false,
    unrequestable: [],
    pageSize: 100,
    rateWindows: new Map(),
  };
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    let answer = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      state.requests.push({ method: req.method ?? '', path: url.pathname + url.search, at: Date.now(), status });
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    };
    if (req.headers.authorization !== `Bearer ${state.token}`)
      return answer(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    if (state.rateLimit) {
      const { headers, refused } = spendRateLimit(state.rateLimit, state.rateWindows);
      if (refused)
        return answer(
          403,
          {
            message: 'API rate limit exceeded for user ID 1.',
            documentation_url: 'https://docs.github.com/rest/rate-limit',
          },
          headers,
        );
      const send = answer;
      answer = (status, payload, extra = {}) => send(status, payload, { ...headers, ...extra });
    }
    const fault = state.faults.find(
      (f) => f.times > 0 && f.method === req.method && url.pathname.includes(f.pathIncludes),
    );
    if (fault) {
      fault.times--;
      const message =
        fault.status === 403
          ? 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.'
          : 'Too Many Requests';
      const retryAfter = fault.retryAfterAsDate
        ? new Date(Date.now() + fault.retryAfterSeconds * 1000).toUTCString()
        : String(fault.retryAfterSeconds);
      return answer(fault.status, { message }, { 'retry-after': retryAfter });
    }
    const match = /^\/repos\/([^/]+\/[^/]+)\/(.*)$/.exec(url.pathname);
    const pulls = match && state.pulls.get(match[1]);
    if (!match || !pulls) return answer(404, { message: 'Not Found' });
    const [, , rest] = match;
    const byNumber = (n: string) => pulls.find((p) => p.number === Number(n));

    if (req.method === 'GET' && rest === 'pulls') {
      const head = url.searchParams.get('head')?.split(':')[1];
      const matching = pulls.filter((p) => !head || p.head.ref === head);
      const page = Number(url.searchParams.get('page') ?? '1');
      const size = Math.min(state.pageSize, Number(url.searchParams.get('per_page') ?? '30'));
      const more = matching.length > page * size;
      const next = new URL(url.pathname + url.search, `http://${req.headers.host}`);
      next.searchParams.set('page', String(page + 1));
      return answer(
        200,
        matching.slice((page - 1) * size, page * size).map(view),
        more ? { link: `<${next.href}>; rel="next"` } : {},
      );
    }
    if (req.method === 'POST' && rest === 'pulls') {
      const exists = pulls.find((p) => p.head.ref === body.head);
      if (state.raceNextCreate && !exists) {
        state.raceNextCreate = false;
        pulls.push(newPull(pulls, body));
        return answer(422, {
          message: 'Validation Failed',
          errors: [{ message: `A pull request already exists for ${body.head}.` }],
        });
      }
      if (exists)
        return answer(422, {
          message: 'Validation Failed',
          errors: [{ message: `A pull request already exists for ${body.head}.` }],
        });
      const pull = newPull(pulls, body);
      pulls.push(pull);
      return answer(201, view(pull));
    }
    let m = /^pulls\/(\d+)$/.exec(rest);
    if (m && req.method === 'PATCH') {
      const pull = byNumber(m[1]);
      if (!pull) return answer(404, { message: 'Not Found' });
      Object.assign(pull, pickDefined({ title: body.title, body: body.body, state: body.state }));
      return answer(200, view(pull));
    }
    if (m && req.method === 'GET') {
      const pull = byNumber(m[1]);
      return pull ? answer(200, view(pull)) : answer(404, { message: 'Not Found' });
    }
    m = /^pulls\/(\d+)\/merge$/.exec(rest);
    if (m && req.method === 'PUT') {
      const pull = byNumber(m[1]);
      if (!pull) return answer(404, { message: 'Not Found' });
      if (pull.merged_at || pull.state !== 'open' || pull.mergeable === false)
        return answer(405, { message: 'Pull Request is not mergeable' });
      Object.assign(pull, {
        state: 'closed',
        merged_at: new Date().toISOString(),
        merge_commit_sha: 'c'.repeat(40),
        merge_method: body.merge_method ?? 'merge',
      });
      return answer(200, { sha: pull.merge_commit_sha, merged: true, message: 'Pull Request successfully merged' });
    }
    m = /^pulls\/(\d+)\/reviews$/.exec(rest);
    if (m && req.method === 'GET') return answer(200, byNumber(m[1])?.reviews ?? []);
    m = /^issues\/(\d+)\/comments$/.exec(rest);
    if (m && req.method === 'POST') {
      const pull = byNumber(m[1]);
      if (!pull) return answer(404, { message: 'Not Found' });
      (pull.comments ??= []).push(String(body.body));
      return answer(201, { id: pull.comments.length, body: body.body });
    }
    m = /^issues\/(\d+)\/labels$/.exec(rest);
    if (m && req.method === 'POST') {
      const pull = byNumber(m[1])!;
      pull.labels = [...new Set([...pull.labels, ...(body.labels as string[])])];
      return answer(
        200,
        pull.labels.map((name) => ({ name })),
      );
    }
    m = /^pulls\/(\d+)\/requested_reviewers$/.exec(rest);
    if (m && req.method === 'POST') {
      const pull = byNumber(m[1])!;
      const refused = ((body.reviewers as string[]) ?? []).filter((r) => state.unrequestable.includes(r));
      if (refused.length)
        return answer(422, {
          message:
            'Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the repository.',
        });
      pull.reviewers = [...new Set([...pull.reviewers, ...((body.reviewers as string[]) ?? [])])];
      pull.teamReviewers = [...new Set([...pull.teamReviewers, ...((body.team_reviewers as string[]) ?? [])])];
      return answer(201, view(pull));
    }
    m = /^commits\/([0-9a-f]+)\/check-runs$/.exec(rest);
    if (m && req.method === 'GET') {
      const runs = state.checks.get(m[1]) ?? [];
      return answer(200, { total_count: runs.length, check_runs: runs });
    }
    return answer(404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    apiUrl: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** Counts one request against the current window and says what GitHub would. */
function spendRateLimit(rateLimit: { limit: number; windowMs: number }, windows: FakeGitHub['rateWindows']) {
  const now = Date.now();
  let start = [...windows.keys()].at(-1);
  if (start === undefined || now >= start + rateLimit.windowMs) {
    start = now;
    windows.set(start, { count: 0, refused: 0 });
  }
  const window = windows.get(start)!;
  window.count++;
  const refused = window.count > rateLimit.limit;
  if (refused) window.refused++;
  const headers = {
    'x-ratelimit-limit': String(rateLimit.limit),
    'x-ratelimit-remaining': String(Math.max(0, rateLimit.limit - window.count)),
    'x-ratelimit-used': String(Math.min(window.count, rateLimit.limit)),
    'x-ratelimit-reset': String(Math.ceil((start + rateLimit.windowMs) / 1000)),
    'x-ratelimit-resource': 'core',
  };
  return { headers, refused };
}

function newPull(pulls: Pull[], body: Record<string, unknown>): Pull {
  return {
    number: pulls.length + 1,
    title: String(body.title),
    body: String(body.body),
    state: 'open',
    merged_at: null,
    draft: Boolean(body.draft),
    base: String(body.base),
    head: { ref: String(body.head), sha: 'f'.repeat(40) },
    labels: [],
    reviewers: [],
    teamReviewers: [],
    mergeable: true,
    merge_commit_sha: null,
    comments: [],
    reviews: [],
  };
}

function view(pull: Pull) {
  return { ...pull, html_url: `https://github.example/pull/${pull.number}` };
}

function pickDefined(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}

async function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}
