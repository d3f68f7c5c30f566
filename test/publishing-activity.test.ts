/**
 * The publishChangeRequest activity on its own, against real remotes: git http-backend over smart HTTP, real
 * isomorphic-git, the local forge on disk and the github forge at its HTTP boundary. No workflow around it, so each
 * behaviour of one publish is seen directly.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { createPublishChangeRequest, type PublishDeps } from '../activities/control/publish';
import { LocalArtifactStore } from '../src/artifacts/local';
import type { PublishOutcome, PublishRequest } from '../src/contracts';
import { createRepo } from '../src/dev/fleet';
import { startGitServer, type GitServer } from '../src/dev/git-server';
import { GitHubForge } from '../src/forges/github';
import { LocalForge } from '../src/forges/local';
import type { Forge } from '../src/forges/types';
import { fileDiff } from '../src/git/diff';
import { startFakeGitHub, type FakeGitHub } from './support/github-server';

const AUTHOR = { name: 'Regatta', email: 'regatta@localhost' };
const LABELS =
  'function label(value) {\n  return oldName(value);\n}\n\nfunction oldName(value) {\n  return `#${value}`;\n}\n\nmodule.exports = { label, oldName };\n';
const RENAMED = LABELS.replace(/oldName/g, 'newName');

let work: string;
let server: GitServer;
let artifacts: LocalArtifactStore;
let forge: LocalForge;
let counter = 0;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'publish-activity-'));
  server = await startGitServer({ root: path.join(work, 'remotes'), port: 0 });
  artifacts = new LocalArtifactStore(path.join(work, 'artifacts'));
  forge = new LocalForge(path.join(work, 'forge'));
});
afterAll(async () => {
  await server?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

async function repository(files: Record<string, string> = {}): Promise<{ name: string; url: string }> {
  const name = `fixtures/publish-${++counter}`;
  await createRepo(path.join(work, 'remotes'), name, { 'src/labels.js': LABELS, 'README.md': '# catalog\n', ...files });
  return { name, url: `${server.baseUrl}/${name}.git` };
}

async function request(
  repo: { name: string; url: string },
  patch: string,
  extra: Partial<PublishRequest> = {},
): Promise<PublishRequest> {
  const ref = await artifacts.put(`runs/${repo.name}/1/patch.diff`, patch, 'patch');
  return {
    runId: `run/rename/${repo.name}`,
    campaignId: 'rename',
    title: 'Rename oldName to newName',
    repo: { ...repo, ref: 'main' },
    branch: 'regatta/rename',
    autonomy: 'supervised_pr',
    patch: ref,
    evidence: {
      summary: 'Rename oldName to newName (refactor), requested by alice',
      steps: ['replace'],
      touchedFiles: ['src/labels.js'],
      verification: {
        verdict: 'passed',
        commands: [{ command: 'npm test', exitCode: 0, durationMs: 812, output: 'ok', outputTruncated: false }],
      },
      cost: { promptTokens: 0, completionTokens: 0, usd: 0 },
      policy: { name: 'regatta-default', version: '2026.11.1', hash: 'c'.repeat(64) },
      specHash: 'd'.repeat(64),
      artifacts: [ref],
    },
    ...extra,
  };
}

function publisher(extra: Partial<PublishDeps> = {}): (input: PublishRequest) => Promise<PublishOutcome> {
  return createPublishChangeRequest({
    artifacts,
    forge,
    author: AUTHOR,
    runUiUrl: (id) => `http://127.0.0.1:8233/namespaces/default/workflows/${encodeURIComponent(id)}`,
    ...extra,
  });
}

async function branches(url: string): Promise<Record<string, string>> {
  const refs = await git.listServerRefs({ http, url, prefix: 'refs/heads/' });
  return Object.fromEntries(refs.map((r) => [r.ref.replace('refs/heads/', ''), r.oid]));
}

/** A clone of `ref` in a scratch directory, for looking at what was pushed and pushing as someone else. */
async function checkout(url: string, ref: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(work, 'checkout-'));
  await git.clone({ fs, http, dir, url, ref, singleBranch: true, depth: 5 });
  return dir;
}

async function commitAs(
  dir: string,
  ref: string,
  file: string,
  content: string,
  who: { name: string; email: string },
  url: string,
): Promise<void> {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), content);
  await git.add({ fs, dir, filepath: file });
  await git.commit({ fs, dir, message: `${who.name} edits ${file}`, author: who });
  await git.push({ fs, http, dir, url, ref, force: false });
}

const renamePatch = fileDiff('src/labels.js', LABELS, RENAMED);

describe('publishChangeRequest', () => {
  it('pushes a deterministic commit to regatta/<campaign> and opens one change request with the evidence', async () => {
    const repo = await repository();
    const outcome = await publisher()(await request(repo, renamePatch));
    expect(outcome).toMatchObject({
      ok: true,
      changeRequest: { provider: 'local', branch: 'regatta/rename', number: 1, state: 'open' },
    });
    const remote = await branches(repo.url);
    expect(outcome.ok && outcome.changeRequest.headCommit).toBe(remote['regatta/rename']);

    const dir = await checkout(repo.url, 'regatta/rename');
    expect(fs.readFileSync(path.join(dir, 'src/labels.js'), 'utf8')).toBe(RENAMED);
    const [head, base] = await git.log({ fs, dir, depth: 2 });
    expect(head.commit.parent).toEqual([remote.main]);
    expect(base.oid).toBe(remote.main);
    expect(head.commit.author).toMatchObject(AUTHOR);
    expect(head.commit.message).toMatch(
      /^Rename oldName to newName\n\nRegatta campaign rename, run run\/rename\/fixtures\/publish-\d+\.\n\nRegatta-Campaign: rename\nRegatta-Run: /,
    );
    const body = (await forge.readChangeRequest(repo, 'regatta/rename'))!.body;
    expect(body).toContain('/namespaces/default/workflows/run%2Frename%2Ffixtures%2Fpublish-');
    expect(body).toContain('| `npm test` | passed | 812 ms |');
  });

  it('publishing again, even from another run with the same tree on the same base, leaves the branch where it is', async () => {
    const repo = await repository();
    const publish = publisher();
    const first = await publish(await request(repo, renamePatch));
    const before = await branches(repo.url);
    const again = await publish(
      await request(repo, renamePatch, { runId: 'run/rename-again/other', title: 'Another title, same change' }),
    );
    expect(await branches(repo.url)).toEqual(before);
    expect(again).toMatchObject({ ok: true, changeRequest: { number: 1, headCommit: before['regatta/rename'] } });
    expect(first.ok && first.changeRequest.number).toBe(1);
    expect(await forge.listChangeRequests({ repo: repo.name })).toHaveLength(1);
  });

  it('a base that moved elsewhere gets a new commit on the new base, force-pushed; a conflicting one is reported and the branch kept', async () => {
    const repo = await repository();
    const publish = publisher();
    await publish(await request(repo, renamePatch));
    const oldHead = (await branches(repo.url))['regatta/rename'];

    const colleague = { name: 'Colleague', email: 'colleague@acme.invalid' };
    const main = await checkout(repo.url, 'main');
    await commitAs(main, 'main', 'README.md', '# catalog\n\nA line a colleague added.\n', colleague, repo.url);
    const rebased = await publish(await request(repo, renamePatch));
    const moved = await branches(repo.url);
    expect(rebased).toMatchObject({ ok: true, changeRequest: { number: 1, headCommit: moved['regatta/rename'] } });
    expect(moved['regatta/rename']).not.toBe(oldHead);
    const published = await checkout(repo.url, 'regatta/rename');
    expect((await git.log({ fs, dir: published, depth: 1 }))[0].commit.parent).toEqual([moved.main]);
    expect(fs.readFileSync(path.join(published, 'README.md'), 'utf8')).toContain('A line a colleague added.');

    await commitAs(
      main,
      'main',
      'src/labels.js',
      LABELS.replace('function oldName(value)', 'function oldName(value, prefix)'),
      colleague,
      repo.url,
    );
    const conflict = await publish(await request(repo, renamePatch));
    expect(conflict).toMatchObject({
      ok: false,
      reason: 'conflict',
      message: expect.stringMatching(
        /^the patch no longer applies to main: src\/labels\.js: the lines around line \d+ changed/,
      ),
    });
    expect((await branches(repo.url))['regatta/rename']).toBe(moved['regatta/rename']);
  });

  it("never force-pushes over a person's commit on the regatta branch", async () => {
    const repo = await repository();
    const publish = publisher();
    await publish(await request(repo, renamePatch));
    const reviewer = await checkout(repo.url, 'regatta/rename');
    await commitAs(
      reviewer,
      'regatta/rename',
      'src/labels.js',
      RENAMED + '// reviewer fixup\n',
      { name: 'Reviewer', email: 'reviewer@acme.invalid' },
      repo.url,
    );
    const theirs = (await branches(repo.url))['regatta/rename'];

    const outcome = await publish(await request(repo, renamePatch));
    expect(outcome).toMatchObject({
      ok: false,
      reason: 'branch_modified',
      message: expect.stringContaining('by Reviewer <reviewer@acme.invalid>, not made by Regatta'),
    });
    expect((await branches(repo.url))['regatta/rename']).toBe(theirs);
  });

  it('a change request closed unmerged stays closed unless the request asks to reopen it', async () => {
    const repo = await repository();
    const publish = publisher();
    const opened = await publish(await request(repo, renamePatch));
    await forge.closeChangeRequest(repo, opened.ok ? opened.changeRequest.number : 0);

    expect(await publish(await request(repo, renamePatch))).toMatchObject({
      ok: false,
      reason: 'closed_unmerged',
      message: expect.stringContaining('#1 on regatta/rename was closed without merging'),
    });
    expect(await publish(await request(repo, renamePatch, { reopenClosed: true }))).toMatchObject({
      ok: true,
      changeRequest: { number: 1, state: 'open' },
    });
    expect(await forge.listChangeRequests({ repo: repo.name })).toHaveLength(1);
  });

  it('a patch whose bytes differ from the manifest, or that names a path outside the tree, is not published', async () => {
    const repo = await repository();
    const tampered = await request(repo, renamePatch);
    fs.appendFileSync(new URL(tampered.patch.uri), '+injected\n');
    expect(await publisher()(tampered)).toMatchObject({
      ok: false,
      reason: 'missing_evidence',
      message: expect.stringContaining('the manifest says'),
    });

    const escaping =
      'diff --git a/../outside.txt b/../outside.txt\nnew file mode 100644\n--- /dev/null\n+++ b/../outside.txt\n@@ -0,0 +1,1 @@\n+x\n';
    expect(await publisher()(await request(repo, escaping))).toMatchObject({
      ok: false,
      reason: 'invalid_patch',
      message: expect.stringContaining('outside the repository: ../outside.txt'),
    });
    expect(Object.keys(await branches(repo.url))).toEqual(['main']);
  });

  it('a symlinked directory in the base cannot carry a write or a read outside the clone', async () => {
    const outside = fs.mkdtempSync(path.join(work, 'outside-'));
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'host secret\n');
    const repo = await repository();
    // The fleet generator writes plain files only; a symlink needs a commit made with git itself.
    const dir = await checkout(repo.url, 'main');
    fs.symlinkSync(outside, path.join(dir, 'docs'));
    execFileSync('git', ['-C', dir, '-c', 'user.name=Mallory', '-c', 'user.email=m@acme.invalid', 'add', 'docs']);
    execFileSync('git', [
      '-C',
      dir,
      '-c',
      'user.name=Mallory',
      '-c',
      'user.email=m@acme.invalid',
      'commit',
      '-qm',
      'docs link',
    ]);
    await git.push({ fs, http, dir, url: repo.url, ref: 'main' });

    const write = fileDiff('docs/planted.txt', undefined, 'planted\n');
    const read = fileDiff('docs/secret.txt', 'host secret\n', 'host secret, pushed\n');
    for (const patch of [write, read]) {
      expect(await publisher()(await request(repo, patch))).toMatchObject({
        ok: false,
        reason: 'conflict',
        message: expect.stringContaining('docs is a symlink in the base'),
      });
    }
    expect(fs.readdirSync(outside)).toEqual(['secret.txt']);
    expect(Object.keys(await branches(repo.url))).toEqual(['main']);
  });

  for (const provider of ['local', 'github'] as const) {
    it(`${provider}: a crash after the push, retried, ends with one branch and one change request`, async () => {
      const repo = await repository({ '.github/CODEOWNERS': '* @platform-lead\n/src/ @alice @acme/storefront\n' });
      let github: FakeGitHub | undefined;
      let target: Forge = forge;
      if (provider === 'github') {
        github = await startFakeGitHub([repo.name]);
        target = new GitHubForge({ apiUrl: github.apiUrl, token: github.token });
      }
      let crashes = 1;
      const publish = publisher({
        forge: target,
        afterPush: async () => {
          if (crashes-- > 0) throw new Error('worker lost after the push (injected)');
        },
      });
      try {
        const input = await request(repo, renamePatch, { autonomy: 'draft_only' });
        await expect(publish(input)).rejects.toThrow('injected');
        const afterCrash = await branches(repo.url);
        const retried = await publish(input);
        expect(await branches(repo.url)).toEqual(afterCrash);
        expect(retried).toMatchObject({
          ok: true,
          changeRequest: { provider, number: 1, draft: true, headCommit: afterCrash['regatta/rename'] },
        });
        if (github) {
          expect(github.pulls.get(repo.name)).toHaveLength(1);
          expect(github.pulls.get(repo.name)![0]).toMatchObject({
            draft: true,
            reviewers: ['alice'],
            teamReviewers: ['storefront'],
            labels: ['regatta', 'campaign:rename'],
          });
        } else {
          expect(await forge.listChangeRequests({ repo: repo.name })).toHaveLength(1);
          expect((await forge.readChangeRequest(repo, 'regatta/rename'))?.reviewers).toEqual([
            'alice',
            'acme/storefront',
          ]);
        }
      } finally {
        await github?.close();
      }
    });
  }
});
