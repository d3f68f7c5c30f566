/**
 * Go modules end to end: a campaign moves github.com/google/uuid with `go get` and `go mod tidy` in the sandbox, on
 * the Go this host's proxy serves, through the egress proxy's read-only route to `go env GOPROXY`; a step fixes what
 * the new version broke, `go test -json` verifies it, and the change is published. A desired-state schedule surveys
 * go.mod and starts no run for a repository already there. Real Temporal, Docker, git and the Go module proxy.
 */
import { ecosystemRepo, goServiceFiles } from '../support/ecosystem-fixtures';
import { artifactsOf, startEcosystemHarness, withSchedule } from '../support/ecosystem-harness';
import type { RegattaHarness } from '../support/harness';

let harness: RegattaHarness;

beforeAll(async () => {
  harness = await startEcosystemHarness();
});
afterAll(async () => harness?.shutdown());

const upgradeSteps = [
  { recipe: 'go-upgrade' as const, module: 'github.com/google/uuid', version: 'v1.5.0' },
  {
    recipe: 'replace' as const,
    name: 'uuid v1.5.0 declares Validate',
    files: ['**/*.go'],
    find: 'Validate(',
    replace: 'ValidateID(',
  },
];

it('upgrades a Go module with go get and go mod tidy, fixes the break, verifies with go test -json, and publishes', async () => {
  const target = await ecosystemRepo(`fixtures/go-upgrade-${harness.unique}`, goServiceFiles('v1.4.0'));
  const spec = {
    id: `uuid-upgrade-${harness.unique}`,
    title: 'Upgrade github.com/google/uuid to v1.5.0',
    taskType: 'dependency_upgrade' as const,
    targets: [target],
    steps: upgradeSteps,
    verify: { commands: ['go test -json ./...'] },
  };
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id);
  const run = await harness.client.runStatus(result.runs[0].runId);
  // With the failure, so a failed run shows its reason.
  expect({ state: run.state, failure: run.failure }).toEqual({ state: 'published', failure: undefined });

  const artifacts = await artifactsOf(harness, result.runs[0].runId);
  const patch = artifacts['patch.diff'];
  expect(patch).toContain('-require github.com/google/uuid v1.4.0\n+require github.com/google/uuid v1.5.0');
  expect(patch).toContain('+github.com/google/uuid v1.5.0 h1:1p67kYwdtXjb0gL0BPiP1Av9wiZPo5A8z2cWkTZ+eyU=');
  expect(patch).toContain('-github.com/google/uuid v1.4.0 h1:');
  expect(patch).toContain('+func ValidateID(id string) error {');
  const verification = JSON.parse(artifacts['verification.json']);
  expect(verification.verdict).toBe('passed');
  expect(verification.commands[0].tests).toEqual({
    source: 'go-test-json',
    tests: 2,
    passed: 2,
    failed: 0,
    skipped: 0,
    failedTests: [],
  });
  // go.mod says go 1.26, so the host's release runs, from the toolchain cache.
  expect(artifacts['events.json']).toContain('go 1.26.8 (host: go 1.26)');
}, 600_000);

it('refuses to upgrade a module go.mod does not require, and names it', async () => {
  const target = await ecosystemRepo(`fixtures/go-absent-${harness.unique}`, goServiceFiles('v1.4.0'));
  const spec = {
    id: `absent-module-${harness.unique}`,
    title: 'Upgrade a module the service does not use',
    taskType: 'dependency_upgrade' as const,
    targets: [target],
    steps: [{ recipe: 'go-upgrade' as const, module: 'golang.org/x/text', version: 'v0.14.0' }],
    verify: { commands: ['go test -json ./...'] },
  };
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id);
  expect(result.runs[0].state).toBe('failed');
  const run = await harness.client.runStatus(result.runs[0].runId);
  expect(JSON.stringify(run)).toContain(
    "golang.org/x/text is not in go.mod's require (it requires github.com/google/uuid); go-upgrade moves a dependency the repository already has",
  );
}, 300_000);

it('a desired-state firing reads go.mod, counts a repository already there as compliant, and starts no run for it', async () => {
  const [current, behind] = [
    await ecosystemRepo(`fixtures/go-current-${harness.unique}`, goServiceFiles('v1.5.0')),
    await ecosystemRepo(`fixtures/go-behind-${harness.unique}`, goServiceFiles('v1.4.0')),
  ];
  const firing = await withSchedule(
    harness,
    {
      id: `uuid-desired-${harness.unique}`,
      every: '7d',
      desired: { ecosystem: 'go', package: 'github.com/google/uuid', atLeast: '1.5.0' },
      campaign: {
        id: 'uuid-desired',
        title: 'Every Go service on github.com/google/uuid v1.5',
        taskType: 'dependency_upgrade',
        targets: [current, behind],
        steps: upgradeSteps,
        verify: { commands: ['go test -json ./...'] },
      },
    },
    (fire) => fire(),
  );
  expect(firing).toMatchObject({ compliant: [current.repo], unknown: [], started: [behind.repo] });
  expect(firing.result?.runs.map((r) => [r.repo, r.state])).toEqual([[behind.repo, 'published']]);
}, 600_000);
