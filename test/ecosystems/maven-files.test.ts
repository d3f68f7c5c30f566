/**
 * Maven's files as data: the version a pom.xml gives a dependency (literal, `${property}`, dependencyManagement), the
 * edit that moves it where it is written and nowhere else, the JDK a pom asks for, the host's repository from a
 * settings.xml, and Surefire's XML report counted as a verification would count it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectJUnitReports, withJUnitCounts } from '../../activities/execution/junit';
import type { VerificationReport } from '../../src/contracts';
import { DesiredDependency, Step } from '../../src/contracts';
import { mavenEcosystem } from '../../src/ecosystems/maven';
import { declaredVersion, setDependencyVersion } from '../../src/ecosystems/maven/pom';
import { centralMirrorIn } from '../../src/ecosystems/maven/registry';
import { chooseJdk, hostJdks } from '../../src/ecosystems/maven/toolchain';
import { mavenPom } from '../support/maven-fixtures';

const LITERAL_AND_MANAGED = `<?xml version="1.0"?>
<project>
  <version>2.0.0</version>
  <properties>
    <jackson.version>2.17.1</jackson.version>
  </properties>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>com.google.guava</groupId>
        <artifactId>guava</artifactId>
        <version>33.5.0-jre</version>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <!-- <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>3.8</version></dependency> -->
    <dependency>
      <groupId>com.google.guava</groupId>
      <artifactId>guava</artifactId>
    </dependency>
    <dependency>
      <groupId>org.apache.commons</groupId><artifactId>commons-text</artifactId><version> 1.12.0 </version>
    </dependency>
    <dependency>
      <groupId>com.fasterxml.jackson.core</groupId>
      <artifactId>jackson-databind</artifactId>
      <version>\${jackson.version}</version>
    </dependency>
    <dependency>
      <groupId>com.acme</groupId>
      <artifactId>parented</artifactId>
      <version>\${acme.version}</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <artifactId>maven-surefire-plugin</artifactId>
        <dependencies>
          <dependency><groupId>org.ow2.asm</groupId><artifactId>asm</artifactId><version>9.7</version></dependency>
        </dependencies>
      </plugin>
    </plugins>
  </build>
</project>
`;

/** The lines of `after` that differ from `before`'s, as [before, after] pairs. */
function changedLines(before: string, after: string): [string, string][] {
  const [a, b] = [before.split('\n'), after.split('\n')];
  expect(b).toHaveLength(a.length);
  return a.flatMap((line, i) => (line === b[i] ? [] : [[line, b[i]] as [string, string]]));
}

describe('reading a pom', () => {
  it('resolves a version from <properties>, a literal, and dependencyManagement', () => {
    const pom = mavenPom('3.17.0');
    expect(declaredVersion(pom, 'org.apache.commons:commons-lang3')).toBe('3.17.0');
    expect(declaredVersion(LITERAL_AND_MANAGED, 'org.apache.commons:commons-text')).toBe('1.12.0');
    expect(declaredVersion(LITERAL_AND_MANAGED, 'com.google.guava:guava')).toBe('33.5.0-jre');
    expect(declaredVersion(LITERAL_AND_MANAGED, 'com.fasterxml.jackson.core:jackson-databind')).toBe('2.17.1');
  });

  it('ignores dependencies in comments and in plugins, and is undefined for a dependency the pom does not have', () => {
    expect(declaredVersion(LITERAL_AND_MANAGED, 'junit:junit')).toBeUndefined();
    expect(declaredVersion(LITERAL_AND_MANAGED, 'org.ow2.asm:asm')).toBeUndefined();
  });

  it('says where a version it cannot change comes from', () => {
    expect(() => declaredVersion(LITERAL_AND_MANAGED, 'com.acme:parented')).toThrow(
      "com.acme:parented's version is ${acme.version}, which pom.xml's <properties> does not define",
    );
  });

  it('is what the desired-state survey reads, through the ecosystem seam', async () => {
    const files: Record<string, string> = { 'pom.xml': mavenPom('3.18.0') };
    const read = async (file: string) => files[file];
    await expect(mavenEcosystem.readCurrentVersion(read, 'org.apache.commons:commons-lang3')).resolves.toEqual({
      declared: '3.18.0',
      installed: '3.18.0',
    });
    await expect(mavenEcosystem.readCurrentVersion(read, 'com.google.guava:guava')).resolves.toEqual({});
  });
});

describe('editing a pom', () => {
  it('changes the property a version comes from, and every other byte stays', () => {
    const before = mavenPom('3.17.0');
    const edit = setDependencyVersion(before, 'org.apache.commons:commons-lang3', '3.18.0');
    expect(edit.from).toBe('3.17.0');
    expect(changedLines(before, edit.text)).toEqual([
      [
        '    <commons-lang3.version>3.17.0</commons-lang3.version>',
        '    <commons-lang3.version>3.18.0</commons-lang3.version>',
      ],
    ]);
  });

  it('changes a literal in place, keeping the spaces around it', () => {
    const edit = setDependencyVersion(LITERAL_AND_MANAGED, 'org.apache.commons:commons-text', '1.15.0');
    expect(changedLines(LITERAL_AND_MANAGED, edit.text)).toEqual([
      [
        '      <groupId>org.apache.commons</groupId><artifactId>commons-text</artifactId><version> 1.12.0 </version>',
        '      <groupId>org.apache.commons</groupId><artifactId>commons-text</artifactId><version> 1.15.0 </version>',
      ],
    ]);
  });

  it('changes the dependencyManagement entry of a dependency that has no version of its own', () => {
    const edit = setDependencyVersion(LITERAL_AND_MANAGED, 'com.google.guava:guava', '33.8.0-jre');
    expect(edit.source).toMatchObject({ kind: 'literal', managed: true });
    expect(changedLines(LITERAL_AND_MANAGED, edit.text)).toEqual([
      ['        <version>33.5.0-jre</version>', '        <version>33.8.0-jre</version>'],
    ]);
  });

  it('refuses a dependency the pom does not declare, naming it and those it does', () => {
    expect(() => setDependencyVersion(mavenPom('3.17.0'), 'com.google.guava:guava', '33.8.0-jre')).toThrow(
      'com.google.guava:guava is not a dependency in pom.xml (it declares org.apache.commons:commons-lang3, org.junit.jupiter:junit-jupiter); maven-upgrade moves a dependency the repository already has',
    );
  });
});

describe('maven-upgrade and desired-state specs', () => {
  it('validates the coordinates and the version, naming the field', () => {
    const bad = Step.safeParse({ recipe: 'maven-upgrade', dependency: 'commons-lang3', version: '3.18.0' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]).toMatchObject({
      path: ['dependency'],
      message: 'expected groupId:artifactId such as org.apache.commons:commons-lang3',
    });
    expect(
      DesiredDependency.safeParse({ ecosystem: 'maven', package: 'org.apache.commons:commons-lang3', atLeast: '3.18' })
        .success,
    ).toBe(true);
    expect(DesiredDependency.safeParse({ ecosystem: 'maven', package: '@acme/logger', atLeast: '2' }).success).toBe(
      false,
    );
  });
});

describe('the JDK a pom asks for', () => {
  const debian17 = { feature: 17, name: 'debian' };
  const temurin25 = { feature: 25, name: 'temurin' };
  const host = [debian17, temurin25];

  it('compiles for maven.compiler.release or .source with a host JDK of that release, else the oldest newer one', () => {
    expect(chooseJdk(mavenPom('3.17.0', '17'), host, debian17)).toEqual({
      release: 17,
      source: 'pom.xml maven.compiler.release',
      declared: '17',
      jdk: debian17,
    });
    expect(chooseJdk(mavenPom('3.17.0', '25'), host, debian17).jdk).toBe(temurin25);
    expect(chooseJdk(mavenPom('3.17.0', '21'), host, debian17).jdk).toBe(temurin25);
    expect(chooseJdk(mavenPom('3.17.0', '11'), host, debian17).jdk).toBe(debian17);
    const legacy = '<project><properties><maven.compiler.source>1.8</maven.compiler.source></properties></project>';
    expect(chooseJdk(legacy, host, debian17)).toMatchObject({ source: 'pom.xml maven.compiler.source', release: 17 });
    expect(chooseJdk('<project></project>', host, debian17)).toEqual({ release: 17, source: 'host', jdk: debian17 });
  });

  it('refuses a release no host JDK compiles for, naming what was asked and what there is', () => {
    expect(() => chooseJdk(mavenPom('3.17.0', '26'), host, debian17)).toThrow(
      "pom.xml's maven.compiler.release asks for Java 26; this host has JDKs 17 and 25, which compile for Java 8 to 25",
    );
    expect(() => chooseJdk(mavenPom('3.17.0', '21'), [debian17])).toThrow(
      "pom.xml's maven.compiler.release asks for Java 21; this host has JDK 17, which compiles for Java 8 to 17",
    );
    expect(() => chooseJdk(mavenPom('3.17.0', '7'), host, debian17)).toThrow('asks for Java 7');
  });

  it("finds every JDK of this host: Debian's on PATH first, the others beside it", () => {
    const { all, default: preferred } = hostJdks();
    expect(all[0]).toBe(preferred);
    expect(preferred.integrity).toMatch(/^debian:openjdk-17/);
    expect(new Set(all.map((j) => j.dir)).size).toBe(all.length);
    // This machine has a Temurin JDK beside Debian's (see the README's requirements).
    expect(all.some((j) => j.feature > preferred.feature && j.integrity.startsWith('release-sha256:'))).toBe(true);
  });
});

describe("the host's Maven repository", () => {
  it('is the first unblocked mirror of central in a settings.xml', () => {
    const settings = `<settings><mirrors>
      <!-- <mirror><id>old</id><mirrorOf>*</mirrorOf><url>http://old.invalid/</url></mirror> -->
      <mirror><id>blocker</id><mirrorOf>external:http:*</mirrorOf><url>http://0.0.0.0/</url><blocked>true</blocked></mirror>
      <mirror><id>corp</id><mirrorOf>central</mirrorOf><url>https://repository.example.test/maven2</url></mirror>
    </mirrors></settings>`;
    expect(centralMirrorIn(settings)).toBe('https://repository.example.test/maven2');
    expect(centralMirrorIn('<settings><mirrors></mirrors></settings>')).toBeUndefined();
  });
});

describe("Surefire's reports", () => {
  it('count tests run, passed, failed and skipped, and name the failing ones', () => {
    const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-surefire-'));
    try {
      const reports = path.join(tree, 'target', 'surefire-reports');
      fs.mkdirSync(reports, { recursive: true });
      fs.copyFileSync(
        path.join(__dirname, '../fixtures/surefire/TEST-com.acme.greeter.GreeterTest.xml'),
        path.join(reports, 'TEST-com.acme.greeter.GreeterTest.xml'),
      );
      fs.writeFileSync(path.join(reports, 'com.acme.greeter.GreeterTest.txt'), 'Tests run: 3, Failures: 1\n');
      const junit = collectJUnitReports(tree);
      const report = {
        verdict: 'failed',
        commands: [{ command: 'mvn -B test', exitCode: 1, durationMs: 9000, outputTail: '' }],
        junit,
      } as unknown as VerificationReport;
      expect(withJUnitCounts(report).commands[0].tests).toEqual({
        source: 'junit',
        tests: 3,
        passed: 1,
        failed: 1,
        skipped: 1,
        todo: 0,
        failedTests: ['com.acme.greeter.GreeterTest.greetsByName'],
      });
    } finally {
      fs.rmSync(tree, { recursive: true, force: true });
    }
  });
});
