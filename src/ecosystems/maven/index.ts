/**
 * Maven: pom.xml's dependency (or dependencyManagement) version, through `${property}` to `<properties>`, says the
 * version; `maven-upgrade` edits it where it is written; the JDK and Maven come from Debian on the host into the
 * toolchain cache; the repository is the host Maven's, read-only through the egress proxy; Surefire's JUnit XML
 * (target/surefire-reports/TEST-*.xml) is read by the JUnit reader (activities/execution/junit.ts) for the counts.
 */
import type { Ecosystem } from '../types';
import { declaredVersion } from './pom';
import { mavenRegistry } from './registry';
import { prepareMavenToolchain } from './toolchain';

export const mavenEcosystem: Ecosystem = {
  name: 'maven',
  recipeName: 'maven-upgrade',
  manifestFiles: ['pom.xml'],
  async readCurrentVersion(read, dependency) {
    const pom = await read('pom.xml');
    if (pom === undefined) throw new Error('pom.xml is not in the repository');
    const version = declaredVersion(pom, dependency);
    // A pom names exact versions and Maven has no lock file: declared and installed are one version.
    return version ? { declared: version, installed: version } : {};
  },
  prepareToolchain: prepareMavenToolchain,
  registry: mavenRegistry,
};
