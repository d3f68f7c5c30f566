/**
 * A mixed fleet end to end: the local fleet's Node services and its Go, Python and Maven services, under one
 * desired-state schedule naming one dependency per ecosystem. Its first firing surveys each repository by its own
 * manifests and starts one campaign whose steps apply by ecosystem (each upgrade recipe where its ecosystem is, each
 * `replace` fix `when` its ecosystem is) and whose verification runs each repository's own test runner; every run is
 * published. The second firing starts no run. Real Temporal, Docker sandboxes, git server, registries, local forge.
 */
import path from 'node:path';
import type { ScheduledFiringResult, ScheduleSpecInput } from '../../src/contracts';
import { ECOSYSTEM_SERVICES, FLEET, serviceFiles } from '../../src/dev/fleet';
import { goServiceFiles } from '../../src/dev/ecosystem-services';
import { artifactsOf, startEcosystemHarness, withSchedule } from '../support/ecosystem-harness';
import { ecosystemRepo } from '../support/ecosystem-fixtures';
import type { RegattaHarness } from '../support/harness';

let harness: RegattaHarness;

beforeAll(async () => {
  harness = await startEcosystemHarness();
});
afterAll(async () => harness?.shutdown());

const steps: ScheduleSpecInput['campaign']['steps'] = [
  { recipe: 'npm-upgrade', package: '@acme/logger', version: '^2.0.0' },
  {
    recipe: 'replace',
    name: '@acme/logger 2 dropped log',
    when: { ecosystem: ['npm'] },
    files: ['src/**/*.js'],
    find: 'logger.log(',
    replace: 'logger.info(',
  },
  { recipe: 'go-upgrade', module: 'github.com/google/uuid', version: 'v1.5.0' },
  {
    recipe: 'replace',
    name: 'uuid v1.5.0 declares Validate',
    when: { ecosystem: ['go'] },
    files: ['**/*.go'],
    find: 'Validate(',
    replace: 'ValidateID(',
  },
  { recipe: 'python-upgrade', package: 'semver', version: '3.0.4' },
  {
    recipe: 'replace',
    name: 'semver 3 renamed isvalid',
    when: { ecosystem: ['python'] },
    files: ['pricing/**/*.py'],
    find: '.isvalid(',
    replace: '.is_valid(',
  },
  { recipe: 'maven-upgrade', dependency: 'org.apache.commons:commons-lang3', version: '3.18.0' },
  {
    recipe: 'replace',
    name: 'commons-lang3 3.18.0 declares Strings',
    when: { ecosystem: ['maven'] },
    files: ['src/**/*.java'],
    find: 'import com.acme.text.*;',
    replace: 'import com.acme.text.Strings;',
  },
];

const verify = {
  byEcosystem: {
    npm: ['npm ci --ignore-scripts --no-audit --no-fund', 'node src/index.js', 'npm test'],
    go: ['go test -json ./...'],
    python: [
      'uv venv --clear /tmp/venv',
      'uv pip install --python /tmp/venv -r requirements.txt pytest',
      'uv run --python /tmp/venv --no-project python -m pytest --junitxml=test-results/junit.xml',
    ],
    maven: ['mvn -B test'],
  },
};

it('one schedule over a mixed fleet upgrades a dependency per ecosystem, verifies each with its own tests, publishes every run, and fires again without a run', async () => {
  const prefix = `fixtures/mixed-${harness.unique}`;
  const named = (repo: string) => `${prefix}-${path.basename(repo)}`;
  const nodeServices = await Promise.all(FLEET.map((s) => ecosystemRepo(named(s.repo), serviceFiles(s), s.team)));
  const [go, python, maven] = await Promise.all(
    ECOSYSTEM_SERVICES.map((s) => ecosystemRepo(named(s.repo), s.files(), s.team)),
  );
  // Already on the desired uuid, and a repository none of the desired dependencies applies to.
  const current = await ecosystemRepo(`${prefix}-inventory-current`, goServiceFiles('v1.5.0'), 'fulfilment');
  const docs = await ecosystemRepo(`${prefix}-handbook`, { 'README.md': '# The Acme handbook\n' }, 'platform');
  const drifted = [...nodeServices, go, python, maven];

  const schedule: ScheduleSpecInput = {
    id: `mixed-fleet-${harness.unique}`,
    every: '7d',
    desired: [
      { ecosystem: 'npm', package: '@acme/logger', atLeast: '2.0.0' },
      { ecosystem: 'go', package: 'github.com/google/uuid', atLeast: '1.5.0' },
      { ecosystem: 'python', package: 'semver', atLeast: '3.0.4' },
      { ecosystem: 'maven', package: 'org.apache.commons:commons-lang3', atLeast: '3.18.0' },
    ],
    campaign: {
      id: 'mixed-fleet',
      title: 'Every service on the current release of its dependency',
      taskType: 'dependency_upgrade',
      targets: [...drifted, current, docs],
      steps,
      verify,
      maxConcurrentRuns: 4,
    },
  };
  const [first, second] = await withSchedule(harness, schedule, async (fire) => [await fire(), await fire()]);

  expect(firingSummary(first)).toEqual({
    compliant: [current.repo],
    notApplicable: [docs.repo],
    unknown: [],
    withOpenChange: [],
    started: drifted.map((t) => t.repo).sort(),
  });
  const runs = first.result!.runs;
  // With the failures, so a failed run shows its reason.
  expect(runs.map((r) => [r.repo, r.state, r.failure?.message]).sort()).toEqual(
    drifted.map((t) => [t.repo, 'published', undefined]).sort(),
  );
  const runOf = (repo: string) => runs.find((r) => r.repo === repo)!.runId;

  const goRun = await artifactsOf(harness, runOf(go.repo));
  expect(goRun['patch.diff']).toContain(
    '-require github.com/google/uuid v1.4.0\n+require github.com/google/uuid v1.5.0',
  );
  expect(goRun['patch.diff']).toContain('+func ValidateID(id string) error {');
  const goVerification = JSON.parse(goRun['verification.json']);
  expect(goVerification.commands.map((c: { command: string }) => c.command)).toEqual(['go test -json ./...']);
  expect(goVerification.commands[0].tests).toMatchObject({ source: 'go-test-json', tests: 2, passed: 2, failed: 0 });
  const goSteps = JSON.parse(goRun['events.json']).filter((e: { kind: string }) => e.kind === 'step');
  expect(goSteps.map((e: { name: string; detail: string }) => [e.name, e.detail.split(':')[0]])).toEqual([
    ['1: npm-upgrade', 'not applicable'],
    ['@acme/logger 2 dropped log', 'not applicable'],
    ['3: go-upgrade', 'github.com/google/uuid v1.4.0 → v1.5.0 (go get, go mod tidy)'],
    ['uuid v1.5.0 declares Validate', expect.any(String)],
    ['5: python-upgrade', 'not applicable'],
    ['semver 3 renamed isvalid', 'not applicable'],
    ['7: maven-upgrade', 'not applicable'],
    ['commons-lang3 3.18.0 declares Strings', 'not applicable'],
  ]);
  expect(goRun['events.json']).toContain(
    'not applicable: python-upgrade is for python repositories (pyproject.toml or requirements.txt at the root) and this one uses go',
  );

  const pythonRun = await artifactsOf(harness, runOf(python.repo));
  expect(pythonRun['patch.diff']).toContain('-semver==2.13.0  # release tags\n+semver==3.0.4  # release tags');
  expect(pythonRun['patch.diff']).toContain('+    return semver.VersionInfo.is_valid(tag.lstrip("v"))');
  const pythonVerification = JSON.parse(pythonRun['verification.json']);
  expect(pythonVerification.verdict).toBe('passed');
  expect(pythonVerification.commands).toHaveLength(3);
  expect(pythonVerification.commands[2].tests).toMatchObject({ source: 'junit', tests: 2, passed: 2, failed: 0 });

  const mavenRun = await artifactsOf(harness, runOf(maven.repo));
  expect(mavenRun['patch.diff']).toContain(
    '-    <commons-lang3.version>3.17.0</commons-lang3.version>\n+    <commons-lang3.version>3.18.0</commons-lang3.version>',
  );
  expect(mavenRun['patch.diff']).toContain('-import com.acme.text.*;\n+import com.acme.text.Strings;');
  const mavenVerification = JSON.parse(mavenRun['verification.json']);
  expect(mavenVerification.commands.map((c: { command: string }) => c.command)).toEqual(['mvn -B test']);
  expect(mavenVerification.commands[0].tests).toMatchObject({ source: 'junit', tests: 2, passed: 2, failed: 0 });

  for (const node of nodeServices) {
    const nodeRun = await artifactsOf(harness, runOf(node.repo));
    expect(nodeRun['patch.diff']).toContain('-    "@acme/logger": "^1.0.0"\n+    "@acme/logger": "^2.0.0"');
    expect(nodeRun['patch.diff']).toContain('+logger.info(`');
    const nodeVerification = JSON.parse(nodeRun['verification.json']);
    expect(nodeVerification.verdict).toBe('passed');
    expect(nodeVerification.commands.map((c: { command: string }) => c.command)).toEqual(verify.byEcosystem.npm);
    expect(nodeVerification.commands[1].output).toContain('[acme] info');
  }

  // Every drifted repository has its change request open now, so the schedule's next firing has nothing to start.
  expect(firingSummary(second)).toEqual({
    compliant: [current.repo],
    notApplicable: [docs.repo],
    unknown: [],
    withOpenChange: drifted.map((t) => t.repo).sort(),
    started: [],
  });
  expect(second.result).toBeUndefined();
}, 1_800_000);

function firingSummary(firing: ScheduledFiringResult) {
  return {
    compliant: firing.compliant,
    notApplicable: firing.notApplicable,
    unknown: firing.unknown,
    withOpenChange: [...firing.withOpenChange].sort(),
    started: [...firing.started].sort(),
  };
}
