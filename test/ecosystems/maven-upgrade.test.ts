/**
 * Maven end to end: a campaign moves org.apache.commons:commons-lang3 by editing the pom.xml property its version
 * comes from, a `replace` step fixes what the new version broke, `mvn -B test` verifies it in the sandbox on the
 * registry_only network (the JDK and Maven from the host's cache, the host Maven's repository through the egress
 * proxy's read-only route), Surefire's XML gives the counts, and the change is published. A desired-state schedule
 * reads pom.xml and starts no run for a repository already there. Real Temporal, Docker, git and Maven repository.
 */
import { artifactsOf, startEcosystemHarness, withSchedule } from '../support/ecosystem-harness';
import { hostJdks } from '../../src/ecosystems/maven/toolchain';
import type { RegattaHarness } from '../support/harness';
import { MAVEN_DEFAULT_BRANCH, mavenRepo, mavenServiceFiles } from '../support/maven-fixtures';

let harness: RegattaHarness;

beforeAll(async () => {
  harness = await startEcosystemHarness();
});
afterAll(async () => harness?.shutdown());

const upgradeSteps = [
  { recipe: 'maven-upgrade' as const, dependency: 'org.apache.commons:commons-lang3', version: '3.18.0' },
  {
    recipe: 'replace' as const,
    name: 'commons-lang3 3.18.0 declares Strings',
    files: ['src/**/*.java'],
    find: 'import com.acme.text.*;',
    replace: 'import com.acme.text.Strings;',
  },
];

it('upgrades a pom.xml property, fixes the break, verifies with mvn -B test in the sandbox, and publishes', async () => {
  const target = await mavenRepo(`fixtures/maven-upgrade-${harness.unique}`, mavenServiceFiles('3.17.0'));
  expect(target.ref).toBe(MAVEN_DEFAULT_BRANCH);
  const spec = {
    id: `lang3-upgrade-${harness.unique}`,
    title: 'Upgrade commons-lang3 to 3.18.0',
    taskType: 'dependency_upgrade' as const,
    targets: [target],
    steps: upgradeSteps,
    verify: { commands: ['mvn -B test'] },
  };
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id);
  expect(result.runs[0]).toMatchObject({ state: 'published' });

  const artifacts = await artifactsOf(harness, result.runs[0].runId);
  const patch = artifacts['patch.diff'];
  expect(patch).toContain(
    '-    <commons-lang3.version>3.17.0</commons-lang3.version>\n+    <commons-lang3.version>3.18.0</commons-lang3.version>',
  );
  expect(patch).toContain('-import com.acme.text.*;\n+import com.acme.text.Strings;');
  expect(patch).not.toContain('target/');
  const verification = JSON.parse(artifacts['verification.json']);
  expect(verification.verdict).toBe('passed');
  expect(verification.commands.at(-1).tests).toMatchObject({
    source: 'junit',
    tests: 2,
    passed: 2,
    failed: 0,
    skipped: 0,
  });
  const events = artifacts['events.json'];
  expect(events).toMatch(/jdk 17\.[0-9.]+ \(pom\.xml maven\.compiler\.release: 17\), maven 3\.[^ ]+ \(host\)/);
  expect(events).toContain('commons-lang3 3.17.0 → 3.18.0 (pom.xml, property commons-lang3.version)');
  // Every artifact Maven needed came through the egress proxy's read-only route to the host Maven's repository.
  expect(artifacts['steps.log']).toMatch(/Downloaded from regatta-read-only: http:\/\/[0-9.:]+\/upstream\/maven\//);
}, 900_000);

it('builds a pom that asks for a newer Java with the host JDK of that release, and records which', async () => {
  const newest = Math.max(...hostJdks().all.map((j) => j.feature));
  const target = await mavenRepo(`fixtures/maven-newer-${harness.unique}`, mavenServiceFiles('3.17.0', String(newest)));
  const spec = {
    id: `lang3-newer-${harness.unique}`,
    title: `Upgrade commons-lang3 on a Java ${newest} service`,
    taskType: 'dependency_upgrade' as const,
    targets: [target],
    steps: upgradeSteps,
    verify: { commands: ['mvn -B test'] },
  };
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id);
  expect(result.runs[0]).toMatchObject({ state: 'published' });
  const artifacts = await artifactsOf(harness, result.runs[0].runId);
  expect(artifacts['events.json']).toMatch(
    new RegExp(`jdk ${newest}\\.[0-9.]+ \\(pom\\.xml maven\\.compiler\\.release: ${newest}\\)`),
  );
  expect(JSON.parse(artifacts['verification.json']).verdict).toBe('passed');
}, 900_000);

it('fails a pom that asks for a JDK this host does not have as a step failure, and says which', async () => {
  const beyond = Math.max(...hostJdks().all.map((j) => j.feature)) + 1;
  const target = await mavenRepo(`fixtures/maven-jdk-${harness.unique}`, mavenServiceFiles('3.17.0', String(beyond)));
  const spec = {
    id: `lang3-jdk-${harness.unique}`,
    title: `Upgrade commons-lang3 on a Java ${beyond} service`,
    taskType: 'dependency_upgrade' as const,
    targets: [target],
    steps: upgradeSteps,
    verify: { commands: ['mvn -B test'] },
  };
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id);
  expect(result.runs[0].state).toBe('failed');
  const run = await harness.client.runStatus(result.runs[0].runId);
  expect(run.failure?.kind).toBe('step');
  expect(run.failure?.message).toContain(
    `pom.xml's maven.compiler.release asks for Java ${beyond}; this host has JDKs 17 and ${beyond - 1}, which compile for Java 8 to ${beyond - 1}`,
  );
}, 300_000);

it('a desired-state firing reads pom.xml, counts a repository already there as compliant, and starts no run for it', async () => {
  const [current, behind] = [
    await mavenRepo(`fixtures/maven-current-${harness.unique}`, mavenServiceFiles('3.18.0')),
    await mavenRepo(`fixtures/maven-behind-${harness.unique}`, mavenServiceFiles('3.17.0')),
  ];
  const firing = await withSchedule(
    harness,
    {
      id: `lang3-desired-${harness.unique}`,
      every: '7d',
      desired: { ecosystem: 'maven', package: 'org.apache.commons:commons-lang3', atLeast: '3.18.0' },
      campaign: {
        id: 'lang3-desired',
        title: 'Every Java service on commons-lang3 3.18',
        taskType: 'dependency_upgrade',
        targets: [current, behind],
        steps: upgradeSteps,
        verify: { commands: ['mvn -B test'] },
      },
    },
    (fire) => fire(),
  );
  expect(firing).toMatchObject({ compliant: [current.repo], unknown: [], started: [behind.repo] });
  expect(firing.result?.runs.map((r) => [r.repo, r.state])).toEqual([[behind.repo, 'published']]);
}, 900_000);
