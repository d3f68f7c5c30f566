/**
 * Python end to end: a campaign moves semver in requirements.txt and pyproject.toml keeping each specifier's style,
 * a step fixes what semver 3 renamed, and the sandbox verifies with pytest (uv from the toolchain cache, the image's
 * python3, packages from the stack's proxpi mirror through the egress proxy's read-only route); pytest's JUnit XML
 * gives the counts, and the change is published. A desired-state firing reads the requirements and starts no run for
 * a repository already there. Real Temporal, Docker, git and the Python index.
 */
import { ecosystemRepo, pythonServiceFiles, pythonVerify, semverRenameStep } from '../support/ecosystem-fixtures';
import { artifactsOf, startEcosystemHarness, withSchedule } from '../support/ecosystem-harness';
import type { RegattaHarness } from '../support/harness';

let harness: RegattaHarness;

beforeAll(async () => {
  harness = await startEcosystemHarness();
});
afterAll(async () => harness?.shutdown());

const upgrade = {
  taskType: 'dependency_upgrade' as const,
  steps: [{ recipe: 'python-upgrade' as const, package: 'semver', version: '3.0.4' }, semverRenameStep],
  verify: pythonVerify,
};

it('upgrades semver in requirements.txt and pyproject.toml, fixes the rename, verifies with pytest, and publishes', async () => {
  const target = await ecosystemRepo(`fixtures/py-upgrade-${harness.unique}`, pythonServiceFiles('2.13.0'), 'pricing');
  const spec = {
    id: `semver-upgrade-${harness.unique}`,
    title: 'Upgrade semver to 3.0.4',
    targets: [target],
    ...upgrade,
  };
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id);
  const run = await harness.client.runStatus(result.runs[0].runId);
  // With the failure, so a failed run shows its reason.
  expect({ state: run.state, failure: run.failure }).toEqual({ state: 'published', failure: undefined });

  const artifacts = await artifactsOf(harness, result.runs[0].runId);
  const patch = artifacts['patch.diff'];
  // The pin stays a pin (and its comment stays), the range keeps its upper bound.
  expect(patch).toContain('-semver==2.13.0  # release tags\n+semver==3.0.4  # release tags');
  expect(patch).toContain('-    "semver>=2.13.0,<4",\n+    "semver>=3.0.4,<4",');
  expect(patch).toContain('+    return semver.VersionInfo.is_valid(tag.lstrip("v"))');
  expect(patch).not.toContain('test-results');
  const verification = JSON.parse(artifacts['verification.json']);
  expect(verification.verdict).toBe('passed');
  expect(verification.commands[2].tests).toMatchObject({ source: 'junit', tests: 2, passed: 2, failed: 0, skipped: 0 });
  expect(artifacts['events.json']).toContain('uv 0.13.8');
}, 600_000);

it('refuses to upgrade a package the repository does not declare, and names it', async () => {
  const target = await ecosystemRepo(`fixtures/py-absent-${harness.unique}`, pythonServiceFiles('2.13.0'), 'pricing');
  const spec = {
    id: `py-absent-${harness.unique}`,
    title: 'Upgrade a package the service does not use',
    targets: [target],
    ...upgrade,
    steps: [{ recipe: 'python-upgrade' as const, package: 'requests', version: '2.32.0' }],
  };
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id);
  expect(result.runs[0].state).toBe('failed');
  expect(JSON.stringify(await harness.client.runStatus(result.runs[0].runId))).toContain(
    'requests is not in requirements.txt, pyproject.toml; python-upgrade moves a dependency the repository already has',
  );
}, 300_000);

it('a desired-state firing reads the requirements, counts a repository already there as compliant, and starts no run for it', async () => {
  const [current, behind] = [
    await ecosystemRepo(`fixtures/py-current-${harness.unique}`, pythonServiceFiles('3.0.4'), 'pricing'),
    await ecosystemRepo(`fixtures/py-behind-${harness.unique}`, pythonServiceFiles('2.13.0'), 'pricing'),
  ];
  const firing = await withSchedule(
    harness,
    {
      id: `semver-desired-${harness.unique}`,
      every: '7d',
      desired: { ecosystem: 'python', package: 'semver', atLeast: '3.0' },
      campaign: {
        id: 'semver-desired',
        title: 'Every Python service on semver 3',
        targets: [current, behind],
        ...upgrade,
      },
    },
    (fire) => fire(),
  );
  expect(firing).toMatchObject({ compliant: [current.repo], unknown: [], started: [behind.repo] });
  expect(firing.result?.runs.map((r) => [r.repo, r.state])).toEqual([[behind.repo, 'published']]);
}, 600_000);
