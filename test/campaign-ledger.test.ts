/**
 * The campaign's ledger as pure rules: stored target pages, the cap on open runs, what a re-executed run is charged,
 * and breaker signatures that tell failures apart. The workflow around it is tested on the real server elsewhere.
 */
import { CampaignSpec, type RunReport, type Target } from '../src/contracts';
import { nextHandover, type TrackerFeedState } from '../workflows/campaign-tracker-feed';
import { CampaignLedger, failureSignature, newLedger } from '../workflows/ledger/campaign-ledger';

const sha = 'a'.repeat(64);
const target = (i: number): Target => ({
  repo: `acme/svc-${i}`,
  url: `http://127.0.0.1:9/acme/svc-${i}.git`,
  ref: 'main',
});
const spec = (extra: Partial<CampaignSpec> = {}) =>
  CampaignSpec.parse({
    id: 'ledger',
    title: 'ledger',
    targets: [target(0), target(1)],
    steps: [{ recipe: 'command', run: 'true' }],
    ...extra,
  });
const report = (runId: string, state: RunReport['state'], extra: Partial<RunReport> = {}): RunReport => ({
  runId,
  repo: runId,
  state,
  costUsd: 0,
  ...extra,
});

describe('stored target pages', () => {
  it('reads the next page once the targets in hand are admitted, and counts the campaign whole', () => {
    const ledger = new CampaignLedger(
      spec(),
      newLedger({
        total: 5,
        refs: [
          { uri: 'file:///p1', sha256: sha, count: 2 },
          { uri: 'file:///p2', sha256: sha, count: 1 },
        ],
      }),
    );
    expect(ledger.progress().total).toBe(5);
    ledger.admit(target(0), 'r0');
    expect(ledger.nextPage()).toBeUndefined();
    ledger.admit(target(1), 'r1');
    expect(ledger.nextPage()?.uri).toBe('file:///p1');
    ledger.loadPage([target(2), target(3)]);
    expect(ledger.nextTarget()?.repo).toBe('acme/svc-2');
    expect(ledger.progress()).toMatchObject({ total: 5, admitted: 2 });
    ledger.admit(target(2), 'r2');
    expect(ledger.progress().admitted).toBe(3);
    expect(ledger.hasMoreTargets()).toBe(true);
  });

  it('counts the targets of pages never read as skipped when the campaign stops', () => {
    const ledger = new CampaignLedger(
      spec(),
      newLedger({
        total: 1002,
        refs: [
          { uri: 'file:///p1', sha256: sha, count: 500 },
          { uri: 'file:///p2', sha256: sha, count: 500 },
        ],
      }),
    );
    ledger.admit(target(0), 'r0');
    ledger.skipRemaining('cancelled by test');
    expect(ledger.hasMoreTargets()).toBe(false);
    expect(ledger.progress().counts).toEqual({ pending: 1, skipped: 1001 });
  });

  it('carries the pages, not the targets admitted, across continue-as-new', () => {
    const ledger = new CampaignLedger(
      spec(),
      newLedger({ total: 3, refs: [{ uri: 'file:///p1', sha256: sha, count: 1 }] }),
    );
    ledger.admit(target(0), 'r0');
    const next = ledger.carryOver();
    expect(next.spec.targets).toEqual([target(1)]);
    const resumed = new CampaignLedger(next.spec, next.state);
    expect(resumed.progress()).toMatchObject({ total: 3, admitted: 1 });
    resumed.admit(target(1), 'r1');
    expect(resumed.nextPage()?.uri).toBe('file:///p1');
  });
});

it('admits no more while maxUnsettledRuns runs are open, whatever keeps them open', () => {
  const ledger = new CampaignLedger(
    spec({ maxUnsettledRuns: 2, maxConcurrentRuns: 10, targets: [0, 1, 2, 3].map(target) }),
    newLedger(),
  );
  ledger.admit(target(0), 'r0');
  ledger.admit(target(1), 'r1');
  ledger.record(report('r0', 'needs_approval'));
  ledger.record(report('r1', 'publishing'));
  expect(ledger.inFlightCount()).toBe(0);
  expect(ledger.admissionBlocker(target(2))).toBe(
    '2 runs are still open (awaiting approval or publishing): maxUnsettledRuns',
  );
  ledger.record(report('r1', 'published', { url: 'http://forge/pr/1' }));
  expect(ledger.admissionBlocker(target(2))).toBeUndefined();
});

it('charges a run re-executed after an approved scope request for both executions, once', () => {
  const ledger = new CampaignLedger(spec({ maxBudgetUsd: 10, runBudgetUsd: 2 }), newLedger());
  ledger.admit(target(0), 'r0');
  ledger.record(report('r0', 'executing'));
  ledger.record(report('r0', 'needs_approval', { costUsd: 0.5 }));
  expect(ledger.progress().budget).toMatchObject({ spentUsd: 0.5, reservedUsd: 0 });
  ledger.record(report('r0', 'executing', { costUsd: 0.5 }));
  expect(ledger.progress().budget).toMatchObject({ spentUsd: 0.5, reservedUsd: 1.5 });
  ledger.record(report('r0', 'changed', { costUsd: 1.25 }));
  expect(ledger.progress().budget).toMatchObject({ spentUsd: 1.25, reservedUsd: 0 });
});

describe('breaker signatures', () => {
  const failed = (repo: string, message: string): RunReport => ({
    ...report(repo, 'failed'),
    repo,
    failure: { kind: 'verification', message },
  });

  it('keep the failing command and first error line, apart from what names the repository', () => {
    const a = failureSignature(
      failed('acme/a', 'verification failed: `npm test` exited 1: TypeError: acme/a has no sum at line 12'),
    );
    const b = failureSignature(
      failed('acme/b', 'verification failed: `npm test` exited 1: TypeError: acme/b has no sum at line 40'),
    );
    const c = failureSignature(
      failed('acme/c', 'verification failed: `npm test` exited 1: ReferenceError: fetch is not defined'),
    );
    const d = failureSignature(
      failed('acme/d', 'verification failed: `npm run build` exited 2: TypeError: acme/d has no sum at line 3'),
    );
    expect(a).toBe('verification: verification failed: `npm test` exited #: TypeError: <repo> has no sum at line #');
    expect(b).toBe(a);
    expect(new Set([a, c, d]).size).toBe(3);
  });

  it('stay coarse for campaigns replaying from before precise signatures', () => {
    const a = failureSignature(failed('acme/a', 'verification failed: `npm test` exited 1: TypeError: x'), false);
    const c = failureSignature(
      failed('acme/c', 'verification failed: `npm run build` exited 2: ReferenceError: y'),
      false,
    );
    expect(a).toBe('verification: verification failed: … exited #: TypeError: x');
    expect(c).not.toBe(a);
  });
});

it('counts a run once when a cancellation races its end, in small and large campaigns alike', () => {
  for (const total of [2, 5_000]) {
    const ledger = new CampaignLedger(
      spec(),
      newLedger(total > 2 ? { total, refs: [{ uri: 'file:///p1', sha256: sha, count: total - 2 }] } : undefined),
    );
    ledger.admit(target(0), 'r0');
    ledger.record(report('r0', 'no_changes'));
    ledger.record(report('r0', 'cancelled'));
    expect(ledger.progress().counts).toEqual({ no_changes: 1 });
  }
});

it('hands a large campaign its published changes a page at a time, so continue-as-new carries at most part of one', () => {
  const targets = Array.from({ length: 501 }, (_, i) => target(i));
  const ledger = new CampaignLedger(
    spec({ targets, maxConcurrentRuns: 500 }),
    newLedger({ total: 1_501, refs: [{ uri: 'file:///p1', sha256: sha, count: 1_000 }] }),
  );
  for (const [i, t] of targets.entries()) {
    ledger.admit(t, `r${i}`);
    ledger.record(report(`r${i}`, 'published', { repo: t.repo, url: `http://forge/${t.repo}/pull/1` }));
  }
  const page = ledger.publishedPageReady()!;
  expect(page).toHaveLength(500);
  ledger.publishedPageStored({ uri: 'file:///published-1', sha256: sha, count: page.length });
  expect(ledger.state.published.map((c) => c.repo)).toEqual(['acme/svc-500']);
  expect(ledger.state.published[0].branch).toBe('regatta/ledger');
  expect(ledger.state.publishedPages).toEqual([{ uri: 'file:///published-1', sha256: sha, count: 500 }]);
  expect(ledger.publishedPageReady()).toBeUndefined();

  const small = new CampaignLedger(spec(), newLedger());
  expect(small.keepsEveryRun()).toBe(true);
  expect(small.publishedPageReady()).toBeUndefined();
});

describe('what a campaign hands its change tracker as it publishes', () => {
  const page = (n: number, count = 500) => ({ uri: `file:///published-${n}`, sha256: sha, count });
  /** A campaign of 1,200 targets (too large to keep every run): runs 0..n-1 have published. */
  function largeCampaign() {
    const ledger = new CampaignLedger(spec(), newLedger({ total: 1_200, refs: [page(0, 1_198)] }));
    let published = 0;
    const publish = (n: number) => {
      for (const end = published + n; published < end; published++) {
        ledger.admit(target(published), `r${published}`);
        ledger.record({
          ...report(`r${published}`, 'published', { url: `http://forge/pr/${published}` }),
          repo: target(published).repo,
          owner: 'storefront',
        });
      }
    };
    return { ledger, publish };
  }
  const handOver = (state: TrackerFeedState, next: ReturnType<typeof nextHandover>, pages: number) =>
    Object.assign(state, { started: true, sent: next.sentAfter, pages });

  it('a large campaign hands over its first 500 inline, then stored pages by reference, then the rest at its end', () => {
    const { ledger, publish } = largeCampaign();
    const state: TrackerFeedState = { started: false, sent: 0, pages: 0 };
    publish(300);
    const first = nextHandover(state, ledger, false);
    expect(first.changes.map((c) => c.repo)).toEqual([...Array(300).keys()].map((i) => target(i).repo));
    expect(first.changes[0].owner).toBe('storefront');
    handOver(state, first, 0);
    publish(300);
    const second = nextHandover(state, ledger, false);
    expect(second.changes.map((c) => c.repo)).toEqual([...Array(200).keys()].map((i) => target(300 + i).repo));
    handOver(state, second, 0);
    expect(nextHandover(state, ledger, false)).toMatchObject({ changes: [], pages: [] });

    // The first page stored holds exactly what the tracker has inline: it is not handed over again.
    ledger.publishedPageStored(page(1));
    expect(nextHandover(state, ledger, false)).toMatchObject({ changes: [], pages: [] });
    publish(400);
    ledger.publishedPageStored(page(2));
    const third = nextHandover(state, ledger, false);
    expect(third).toMatchObject({ changes: [], pages: [page(2)] });
    handOver(state, third, 2);
    expect(nextHandover(state, ledger, false)).toMatchObject({ changes: [], pages: [] });

    // At the end, what no page holds goes inline: the 100 published since the second page.
    publish(100);
    const last = nextHandover(state, ledger, true);
    expect(last.pages).toEqual([]);
    expect(last.changes.map((c) => c.repo)).toEqual([...Array(100).keys()].map((i) => target(1_000 + i).repo));
  });

  it('a campaign that continued as new from before the tracker started at its first publish hands over its pages by reference', () => {
    const { ledger, publish } = largeCampaign();
    publish(1_050);
    ledger.publishedPageStored(page(1));
    ledger.publishedPageStored(page(2));
    const state: TrackerFeedState = { started: false, sent: 0, pages: 0 };
    const next = nextHandover(state, ledger, false);
    expect(next).toMatchObject({ changes: [], pages: [page(1), page(2)] });
    handOver(state, next, 2);
    expect(nextHandover(state, ledger, true).changes.map((c) => c.repo)).toEqual(
      [...Array(50).keys()].map((i) => target(1_000 + i).repo),
    );
  });
});
