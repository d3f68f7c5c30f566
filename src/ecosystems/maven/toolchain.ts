/**
 * A JDK and Maven for a run's sandbox: Debian's openjdk-17-jdk-headless and maven, installed on the host by
 * `regatta dev up` (src/dev/tools.ts), copied (links followed) into the host's toolchain cache with a manifest of every
 * file, mounted read-only. The sandbox image has neither, so npm and Go runs pay nothing for Java.
 *
 * Which JDK: the pom's `maven.compiler.release` (else `maven.compiler.source`/`target`), which the host's JDK must be
 * able to compile for (its feature release or older, down to 8). A pom asking for a newer one fails the run as a
 * `step` failure naming what it asked for and what there is.
 *
 * `mvn` on the sandbox's PATH is a shim that runs Maven with `-s` a settings.xml from the cache: local repository in
 * /tmp, and every repository mirrored by the egress proxy's read-only route (REGATTA_MAVEN_MIRROR) when the sandbox
 * has one; without it, a settings.xml with no mirror, so offline builds (`-o`) still work. No credentials in either.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ToolchainCache } from '../../toolchains/cache';
import type { EcosystemToolchain, EcosystemToolchainSource } from '../types';
import { parsePom } from './pom';
import { hostMavenHome, MIRROR_ENV } from './registry';

const JDK_MOUNT = '/opt/regatta/toolchain/jdk';
const MAVEN_MOUNT = '/opt/regatta/toolchain/maven';
const SHIM_DIR = '.regatta-bin';
const LOCAL_REPOSITORY = '/tmp/m2/repository';
const OLDEST_RELEASE = 8;

export class MavenToolchainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MavenToolchainError';
  }
}

export interface JdkChoice {
  release: number;
  source: EcosystemToolchainSource;
  declared?: string;
}

/** The Java release a pom compiles for, and which property said so. "1.8" is release 8. */
export function requestedJavaRelease(
  pomText: string,
): { release: number; property: string; declared: string } | undefined {
  const { properties } = parsePom(pomText);
  for (const property of ['maven.compiler.release', 'maven.compiler.source', 'maven.compiler.target']) {
    const declared = properties.get(property)?.value;
    if (!declared) continue;
    const release = Number(declared.replace(/^1\./, ''));
    if (!Number.isInteger(release))
      throw new MavenToolchainError(
        `pom.xml's ${property} is "${declared}"; expected a Java release such as 17 or 1.8`,
      );
    return { release, property, declared };
  }
  return undefined;
}

export function chooseJdk(pomText: string, hostRelease: number): JdkChoice {
  const requested = requestedJavaRelease(pomText);
  if (!requested) return { release: hostRelease, source: 'host' };
  if (requested.release > hostRelease || requested.release < OLDEST_RELEASE)
    throw new MavenToolchainError(
      `pom.xml's ${requested.property} asks for Java ${requested.declared}; this host has JDK ${hostRelease}, which compiles for Java ${OLDEST_RELEASE} to ${hostRelease}`,
    );
  return {
    release: hostRelease,
    source:
      requested.property === 'maven.compiler.release'
        ? 'pom.xml maven.compiler.release'
        : 'pom.xml maven.compiler.source',
    declared: requested.declared,
  };
}

interface HostInstall {
  dir: string;
  version: string;
  /** The Debian package and version it came from, or a hash of its release file without dpkg. */
  integrity: string;
}

function debianOrigin(file: string): string | undefined {
  try {
    const owner = execFileSync('dpkg-query', ['-S', file], { encoding: 'utf8' }).split(':')[0].trim();
    const version = execFileSync('dpkg-query', ['-W', '-f=${Version}', owner], { encoding: 'utf8' }).trim();
    return `debian:${owner}=${version}`;
  } catch {
    return undefined;
  }
}

let hostJdkFound: HostInstall | undefined;

/** The host's JDK, from the `javac` on PATH. */
export function hostJdk(): HostInstall {
  if (hostJdkFound) return hostJdkFound;
  let javac: string;
  try {
    javac = execFileSync('sh', ['-c', 'readlink -f "$(command -v javac)"'], { encoding: 'utf8' }).trim();
  } catch {
    javac = '';
  }
  if (!javac) throw new Error('this host has no JDK (javac); `regatta dev up` installs openjdk-17-jdk-headless');
  const dir = path.dirname(path.dirname(javac));
  const release = fs.readFileSync(path.join(dir, 'release'), 'utf8');
  const version = /^JAVA_VERSION="([^"]+)"/m.exec(release)?.[1];
  if (!version) throw new Error(`${dir}/release names no JAVA_VERSION`);
  const integrity = debianOrigin(javac) ?? `release-sha256:${createHash('sha256').update(release).digest('hex')}`;
  hostJdkFound = { dir, version, integrity };
  return hostJdkFound;
}

function hostMaven(): HostInstall {
  const dir = hostMavenHome();
  if (!dir) throw new Error('this host has no Maven (mvn); `regatta dev up` installs maven');
  const origin = debianOrigin(path.join(dir, 'bin', 'mvn'));
  const core = fs.readdirSync(path.join(dir, 'lib')).find((f) => f.startsWith('maven-core'));
  const version = origin?.split('=')[1] ?? core?.replace(/^maven-core-|\.jar$/g, '') ?? 'unknown';
  return { dir, version, integrity: origin ?? `lib:${core}` };
}

/** The settings.xml the shim passes with `-s`; `${env.…}` is read by Maven when it runs. */
function settingsXml(withMirror: boolean): string {
  const mirror = withMirror
    ? [
        '  <mirrors>',
        '    <mirror>',
        '      <id>regatta-read-only</id>',
        '      <name>The registry, read-only through the sandbox egress proxy</name>',
        '      <mirrorOf>*</mirrorOf>',
        `      <url>\${env.${MIRROR_ENV}}</url>`,
        '    </mirror>',
        '  </mirrors>',
      ]
    : [];
  return [
    '<settings xmlns="http://maven.apache.org/SETTINGS/1.2.0">',
    `  <localRepository>${LOCAL_REPOSITORY}</localRepository>`,
    '  <interactiveMode>false</interactiveMode>',
    ...mirror,
    '</settings>',
    '',
  ].join('\n');
}

const SHIM = [
  '#!/bin/sh',
  '# Maven with the sandbox settings: the read-only mirror when the network has one.',
  `if [ -n "$${MIRROR_ENV}" ]; then settings=${MAVEN_MOUNT}/regatta-settings.xml; else settings=${MAVEN_MOUNT}/regatta-settings-offline.xml; fi`,
  `exec ${MAVEN_MOUNT}/bin/mvn -s "$settings" "$@"`,
  '',
].join('\n');

/** Changes to the shim or settings make a new install: the cache compares this with the installed manifest. */
const SHIM_HASH = createHash('sha256')
  .update(SHIM + settingsXml(true) + settingsXml(false))
  .digest('hex')
  .slice(0, 12);

async function fillMaven(from: string, unpacked: string): Promise<void> {
  copyFollowingLinks(from, unpacked);
  fs.writeFileSync(path.join(unpacked, 'regatta-settings.xml'), settingsXml(true));
  fs.writeFileSync(path.join(unpacked, 'regatta-settings-offline.xml'), settingsXml(false));
  fs.mkdirSync(path.join(unpacked, SHIM_DIR));
  fs.writeFileSync(path.join(unpacked, SHIM_DIR, 'mvn'), SHIM, { mode: 0o755 });
}

/** Copies an installation with links followed; a dangling link (src.zip without the source package) is left out. */
function copyFollowingLinks(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true, dereference: true, filter: (source) => fs.existsSync(source) });
}

/** The JDK and Maven the repository at `repoDir` needs, or undefined when it has no pom.xml. */
export async function prepareMavenToolchain(
  repoDir: string,
  cache: ToolchainCache,
): Promise<EcosystemToolchain | undefined> {
  const pomPath = path.join(repoDir, 'pom.xml');
  // Read as data and never through a link the repository planted.
  if (!fs.lstatSync(pomPath, { throwIfNoEntry: false })?.isFile()) return undefined;
  const jdk = hostJdk();
  const choice = chooseJdk(fs.readFileSync(pomPath, 'utf8'), Number(jdk.version.split('.')[0]));
  const maven = hostMaven();
  const [jdkInstall, mavenInstall] = await Promise.all([
    cache.ensureFilled('jdk', 'openjdk', { version: jdk.version, integrity: jdk.integrity }, async (unpacked) =>
      copyFollowingLinks(jdk.dir, unpacked),
    ),
    cache.ensureFilled(
      'maven',
      'maven',
      { version: maven.version, integrity: `${maven.integrity};settings:${SHIM_HASH}` },
      (unpacked) => fillMaven(maven.dir, unpacked),
    ),
  ]);
  return {
    tools: [
      {
        name: 'jdk',
        version: jdk.version,
        source: choice.source,
        ...(choice.declared ? { declared: choice.declared } : {}),
      },
      { name: 'maven', version: maven.version, source: 'host' },
    ],
    mounts: [
      { hostPath: jdkInstall.dir, containerPath: JDK_MOUNT },
      { hostPath: mavenInstall.dir, containerPath: MAVEN_MOUNT },
    ],
    path: [`${MAVEN_MOUNT}/${SHIM_DIR}`, `${JDK_MOUNT}/bin`],
    env: { JAVA_HOME: JDK_MOUNT, MAVEN_HOME: MAVEN_MOUNT },
  };
}
