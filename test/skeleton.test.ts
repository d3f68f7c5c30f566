/**
 * The walking skeleton, end to end on real components: the Temporal dev server, Docker sandboxes, the local
 * fleet over smart HTTP, isomorphic-git and the local artifact store.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createControlActivities } from '../activities/control';
import { CampaignSpecConflictError, InvalidSpecError, type CampaignSpecInput } from '../src/client';
import { FLEET_RENAME } from '../src/dev/fleet';
import { dockerClient, RUN_LABEL } from '../src/sandbox/driver';
import { realExecutionActivities, startHarness, type RegattaHarness } from './support/harness';
import { readStackInfo } from './support/stack';

let harness: RegattaHarness;
const docker = dockerClient();

beforeAll(async () => {
  harness = await startHarness({
    controlActivities: createControlActivities({}),
    executionActivities: realExecutionActivities(),
  });
});
afterAll(async () => harness?.shutdown());

function renameSpec(id: string, extra: Partial<CampaignSpecInput> = {}): CampaignSpecInput {
  return {
    id: `${id}-${harness.unique}`,
    title: 'Rename oldName to newName',
    targets: readStackInfo().targets,
    steps: [
      { recipe: 'replace', files: [...FLEET_RENAME.files], find: FLEET_RENAME.find, replace: FLEET_RENAME.replace },
    ],
    verify: { commands: ['npm test'] },
    preview: true,
    ...extra,
  };
}

function readArtifact(uri: string): string {
  return fs.readFileSync(fileURLToPath(uri), 'utf8');
}

describe('walking skeleton', () => {
  it('changes every repository that uses the old name, verifies it in a sandbox and reports the patch per repository', async () => {
    const spec = renameSpec('skeleton');
    const started = await harness.client.startCampaign(spec);
    expect(started.started).toBe(true);
    const result = await harness.client.campaignResult(spec.id!);

    const outcomes = Object.fromEntries(result.runs.map((r) => [r.repo, r.state]));
    expect(outcomes).toEqual({
      'acme/billing': 'changed',
      'acme/catalog': 'changed',
      'acme/checkout': 'changed',
      'acme/notifications': 'no_changes',
    });

    const catalog = await harness.client.runStatus(result.runs.find((r) => r.repo === 'acme/catalog')!.runId);
    expect(catalog.touchedFiles.sort()).toEqual(['README.md', 'src/index.js', 'src/labels.js', 'test.js']);
    const patchRef = catalog.manifest!.artifacts.find((a) => a.type === 'patch')!;
    const patch = readArtifact(patchRef.uri);
    expect(patch).toContain('diff --git a/src/labels.js b/src/labels.js\n--- a/src/labels.js\n+++ b/src/labels.js\n');
    expect(patch).toContain('-function oldName(value) {\n+function newName(value) {\n');
    expect(patch).toContain('-module.exports = { oldName };\n+module.exports = { newName };\n');
    expect(patch).not.toContain('notifications');
    expect(patchRef.size).toBe(Buffer.byteLength(patch));

    const verification = JSON.parse(
      readArtifact(catalog.manifest!.artifacts.find((a) => a.type === 'verification')!.uri),
    );
    expect(verification).toMatchObject({ verdict: 'passed', commands: [{ command: 'npm test', exitCode: 0 }] });
    expect(verification.commands[0].output).toContain('catalog: all tests passed');

    const listed = await harness.client.listRuns(spec.id!, { state: 'changed' });
    expect(listed.map((r) => r.repo)).toEqual(['acme/billing', 'acme/catalog', 'acme/checkout']);
    const leftovers = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${catalog.runId}`] } });
    expect(leftovers).toEqual([]);
  });

  it('starting the same campaign id twice yields one campaign and one run per repository', async () => {
    const spec = renameSpec('idempotent', { targets: readStackInfo().targets.slice(0, 2) });
    const [first, second] = await Promise.all([harness.client.startCampaign(spec), harness.client.startCampaign(spec)]);
    expect([first.started, second.started].sort()).toEqual([false, true]);
    await harness.client.campaignResult(spec.id!);
    const again = await harness.client.startCampaign(spec);
    expect(again.started).toBe(false);
    const runs = await harness.client.listRuns(spec.id!);
    expect(runs.map((r) => r.repo)).toEqual(['acme/billing', 'acme/catalog']);
    const campaigns = [];
    for await (const wf of harness.client.temporal.workflow.list({ query: `WorkflowId = 'campaign/${spec.id}'` }))
      campaigns.push(wf);
    expect(campaigns).toHaveLength(1);
  });

  it('refuses to start an existing campaign id with a different spec, naming the campaign; another caller with the same spec gets it', async () => {
    const spec = renameSpec('conflicting', { targets: readStackInfo().targets.slice(0, 1) });
    await harness.client.startCampaign({ ...spec, requestedBy: 'alice' });
    const sameSpecOtherCaller = await harness.client.startCampaign({ ...spec, requestedBy: 'bob' });
    expect(sameSpecOtherCaller.started).toBe(false);
    const widened = { ...spec, targets: readStackInfo().targets.slice(0, 2) };
    await expect(harness.client.startCampaign(widened)).rejects.toThrow(new CampaignSpecConflictError(spec.id!));
    await expect(harness.client.startCampaign(widened)).rejects.toThrow(
      `campaign "${spec.id}" already exists with a different spec`,
    );
    await harness.client.campaignResult(spec.id!);
    expect((await harness.client.listRuns(spec.id!)).map((r) => r.repo)).toEqual(['acme/billing']);
  });

  it('rejects a malformed spec before anything starts, naming the field, the value and what was expected', async () => {
    const spec = {
      ...renameSpec('malformed'),
      targets: [{ repo: 'acme/billing', url: 'file:///srv/git/billing.git' }],
      maxConcurrentRuns: 0,
    };
    const attempt = harness.client.startCampaign(spec);
    await expect(attempt).rejects.toBeInstanceOf(InvalidSpecError);
    await expect(attempt).rejects.toThrow(
      /targets\.0\.url: got "file:\/\/\/srv\/git\/billing\.git"; expected an http\(s\) URL/,
    );
    await expect(attempt).rejects.toThrow(/maxConcurrentRuns: got 0; expected/);
    await expect(harness.client.campaignProgress(spec.id!)).rejects.toThrow(/was not found/);
  });

  it('fails a run whose repository cannot be cloned with reason infra, and the other runs go on', async () => {
    const stack = readStackInfo();
    const unreachable = { repo: 'acme/ghost', url: `${stack.gitBaseUrl}/acme/ghost.git`, ref: 'main' };
    const spec = renameSpec('unreachable', {
      targets: [unreachable, ...stack.targets.filter((t) => t.repo === 'acme/checkout')],
    });
    const result = await harness.client.campaignResult((await harness.client.startCampaign(spec)).campaignId);
    const ghost = result.runs.find((r) => r.repo === 'acme/ghost')!;
    expect(ghost.state).toBe('failed');
    expect(ghost.failure).toEqual({
      kind: 'infra',
      message: `cannot clone ${unreachable.url} at main: HTTP 404 Not Found`,
    });
    expect(result.runs.find((r) => r.repo === 'acme/checkout')!.state).toBe('changed');
  });

  it("the SDK watches a campaign until it settles and fetches a run's artifacts by their manifest URIs", async () => {
    const spec = renameSpec('watched', {
      targets: readStackInfo().targets.filter((t) => t.repo === 'acme/catalog' || t.repo === 'acme/notifications'),
    });
    await harness.client.startCampaign(spec);
    const seen = [];
    for await (const progress of harness.client.watchCampaign(spec.id!, 200)) seen.push(progress);
    expect(seen.at(-1)).toMatchObject({ total: 2, admitted: 2, inFlight: 0, counts: { changed: 1, no_changes: 1 } });
    expect(seen.map((p) => p.admitted)).toEqual([...seen.map((p) => p.admitted)].sort());

    const run = await harness.client.runStatus(`run/${spec.id}/acme/catalog`);
    const patch = run.manifest!.artifacts.find((a) => a.type === 'patch')!;
    const fetched = await harness.client.fetchArtifact(patch.uri);
    expect(fetched.toString('utf8')).toBe(readArtifact(patch.uri));
    expect(createHash('sha256').update(fetched).digest('hex')).toBe(patch.sha256);
  });
});
