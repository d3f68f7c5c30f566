/**
 * Merging, commenting and approvals on the github forge at its HTTP boundary (a GitHub-shaped server on loopback),
 * and the automerge activity deciding through it: checks and policy's approvals first, then GitHub's merge API.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLifecycleActivities } from '../../activities/control/change-lifecycle';
import { DEFAULT_POLICY_FILE } from '../../policies';
import { artifactStoreFor } from '../../src/artifacts';
import { loadConfig } from '../../src/config';
import { ForgeRequestError, GitHubForge } from '../../src/forges/github';
import { startFakeGitHub, type FakeGitHub } from '../support/github-server';

let github: FakeGitHub;
let forge: GitHubForge;
const repo = { name: 'acme/catalog', url: 'https://github.example/acme/catalog.git' };
const BRANCH = 'regatta/logger-2x';

beforeEach(async () => {
  github = await startFakeGitHub(['acme/catalog']);
  forge = new GitHubForge({ apiUrl: github.apiUrl, token: github.token });
  await forge.findOrCreateChangeRequest({
    repo,
    branch: BRANCH,
    base: 'main',
    title: 'Upgrade logger',
    body: 'evidence',
    autonomy: 'supervised_pr',
    labels: [],
    reviewers: [],
    headCommit: 'f'.repeat(40),
  });
});
afterEach(async () => github.close());

const pull = () => github.pulls.get('acme/catalog')![0];

/** The automerge activity over this test's forge, under the default bundle with `automerge` set as given. */
function automergeUnder(automerge?: object) {
  const bundle = JSON.parse(fs.readFileSync(DEFAULT_POLICY_FILE, 'utf8'));
  const policyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'automerge-policy-')), 'policy.json');
  fs.writeFileSync(policyFile, JSON.stringify({ ...bundle, ...(automerge ? { automerge } : {}) }));
  const activities = createLifecycleActivities({
    publish: {
      artifacts: artifactStoreFor(loadConfig()),
      forge,
      author: { name: 'r', email: 'r@x' },
      runUiUrl: () => '',
    },
    policyFile,
  });
  return () => activities.automergeChangeRequest({ repo: repo.name, url: repo.url, branch: BRANCH });
}

it('merges through PUT /pulls/{n}/merge with the method asked, and reports the merge commit', async () => {
  const merged = await forge.mergeChangeRequest(repo, 1, { method: 'squash' });
  expect(merged).toMatchObject({ state: 'merged', mergeCommit: 'c'.repeat(40) });
  expect(pull().merge_method).toBe('squash');
  expect(github.requests.map((r) => `${r.method} ${r.path}`)).toContain('PUT /repos/acme/catalog/pulls/1/merge');
});

it('passes on GitHub refusing a pull request that cannot merge', async () => {
  pull().mergeable = false;
  const refused = forge.mergeChangeRequest(repo, 1, { method: 'merge' });
  await expect(refused).rejects.toBeInstanceOf(ForgeRequestError);
  await expect(refused).rejects.toThrow(/405 Pull Request is not mergeable/);
  expect(pull().merged_at).toBeNull();
});

it('comments through the issues API and counts only reviewers whose latest review approves', async () => {
  await forge.commentOnChangeRequest(repo, 1, 'Superseded by https://github.example/pull/2');
  expect(pull().comments).toEqual(['Superseded by https://github.example/pull/2']);
  pull().reviews = [
    { user: { login: 'alice' }, state: 'APPROVED' },
    { user: { login: 'bob' }, state: 'APPROVED' },
    { user: { login: 'bob' }, state: 'CHANGES_REQUESTED' },
    { user: { login: 'carol' }, state: 'COMMENTED' },
  ];
  expect(await forge.approvalCount(repo, 1)).toBe(1);
});

it('automerge waits for passing checks and the approvals policy asks for, then merges with policy`s method', async () => {
  const automerge = automergeUnder({ enabled: true, method: 'squash', requireApprovals: 1 });
  github.checks.set('f'.repeat(40), [{ status: 'in_progress', conclusion: null }]);
  expect(await automerge()).toEqual({ outcome: 'waiting', reason: 'checks pending' });
  github.checks.set('f'.repeat(40), [{ status: 'completed', conclusion: 'failure' }]);
  expect(await automerge()).toEqual({ outcome: 'waiting', reason: 'checks failing' });
  github.checks.set('f'.repeat(40), [{ status: 'completed', conclusion: 'success' }]);
  expect(await automerge()).toEqual({ outcome: 'waiting', reason: '0 of 1 approvals' });
  expect(pull().merged_at).toBeNull();
  pull().reviews = [{ user: { login: 'alice' }, state: 'APPROVED' }];
  expect(await automerge()).toMatchObject({ outcome: 'merged', changeRequest: { state: 'merged' } });
  expect(pull().merge_method).toBe('squash');
});

it('automerge is denied where policy does not allow it, whatever the checks', async () => {
  github.checks.set('f'.repeat(40), [{ status: 'completed', conclusion: 'success' }]);
  expect(await automergeUnder({ enabled: false })()).toEqual({
    outcome: 'denied',
    reason: expect.stringMatching(/^policy .+ does not allow automerge$/),
  });
  expect(pull().merged_at).toBeNull();
});
