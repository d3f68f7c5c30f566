/**
 * A JDK and Maven for a run's sandbox: Debian's openjdk-17-jdk-headless and maven, installed on the host by
 * `regatta dev up` (src/dev/tools.ts), copied (links followed) into the host's toolchain cache with a manifest of every
 * file, mounted read-only. The sandbox image has neither, so npm and Go runs pay nothing for Java.
 *
 * Which JDK: the pom's `maven.compiler.release` (else `maven.compiler.source`/`target`), among the JDKs the host has
 * (Debian's, and any other beside it such as a Temurin build): the one of that release, else the oldest newer one. A
 * pom asking for a release no host JDK compiles for fails the run as a `step` failure naming what it asked for and
 * what there is.
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

/** One JDK this host has: its feature release (17, 25) and where it is. */
export interface HostJdk {
  feature: number;
  dir: string;
  version: string;
  /** The Debian package and version it came from, or a hash of its release file without dpkg. */
  integrity: string;
}

/**
 * The JDK a pom compiles with, among the host's: the one whose feature release is the one asked for, else the oldest
 * newer one (a JDK compiles for older releases down to 8); with nothing asked for, the host's default (`javac` on
 * PATH). A release no host JDK can compile for is refused, naming what was asked and what there is.
 */
export function chooseJdk<T extends { feature: number }>(
  pomText: string,
  hostJdks: readonly T[],
  hostDefault: T = hostJdks[0],
): JdkChoice & { jdk: T } {
  const requested = requestedJavaRelease(pomText);
  if (!requested) return { release: hostDefault.feature, source: 'host', jdk: hostDefault };
  const able = [...hostJdks]
    .filter((j) => j.feature >= requested.release && requested.release >= OLDEST_RELEASE)
    .sort((a, b) => a.feature - b.feature);
  const jdk = able.find((j) => j.feature === hostDefault.feature && j.feature === requested.release) ?? able[0];
  if (!jdk) {
    const features = [...new Set(hostJdks.map((j) => j.feature))].sort((a, b) => a - b);
    const names =
      features.length > 1 ? `JDKs ${features.slice(0, -1).join(', ')} and ${features.at(-1)}` : `JDK ${features[0]}`;
    throw new MavenToolchainError(
      `pom.xml's ${requested.property} asks for Java ${requested.declared}; this host has ${names}, which compile${features.length > 1 ? '' : 's'} for Java ${OLDEST_RELEASE} to ${features.at(-1)}`,
    );
  }
  return {
    release: jdk.feature,
    source:
      requested.property === 'maven.compiler.release'
        ? 'pom.xml maven.compiler.release'
        : 'pom.xml maven.compiler.source',
    declared: requested.declared,
    jdk,
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

/** The JDK installed at `dir` (a directory with `release` and `bin/javac`), or undefined when it is not one. */
function jdkAt(dir: string): HostJdk | undefined {
  let release: string;
  try {
    if (!fs.statSync(path.join(dir, 'bin', 'javac')).isFile()) return undefined;
    release = fs.readFileSync(path.join(dir, 'release'), 'utf8');
  } catch {
    return undefined;
  }
  const version = /^JAVA_VERSION="([^"]+)"/m.exec(release)?.[1];
  if (!version) return undefined;
  const integrity =
    debianOrigin(path.join(dir, 'bin', 'javac')) ??
    `release-sha256:${createHash('sha256').update(release).digest('hex')}`;
  return { feature: Number(version.split('.')[0]), dir, version, integrity };
}

let hostJdksFound: { all: HostJdk[]; default: HostJdk } | undefined;

/**
 * The JDKs this host has: the one whose `javac` is on PATH (the default) and every other JDK in the directories
 * REGATTA_JDK_DIRS lists (`:`-separated; default: the directory that JDK sits in, e.g. /usr/lib/jvm).
 */
export function hostJdks(env: NodeJS.ProcessEnv = process.env): { all: HostJdk[]; default: HostJdk } {
  if (hostJdksFound && env === process.env) return hostJdksFound;
  let javac: string;
  try {
    javac = execFileSync('sh', ['-c', 'readlink -f "$(command -v javac)"'], { encoding: 'utf8' }).trim();
  } catch {
    javac = '';
  }
  if (!javac) throw new Error('this host has no JDK (javac); `regatta dev up` installs openjdk-17-jdk-headless');
  const preferred = jdkAt(path.dirname(path.dirname(javac)));
  if (!preferred) throw new Error(`${path.dirname(path.dirname(javac))} is not a JDK with a release file`);
  const roots = (env.REGATTA_JDK_DIRS ?? path.dirname(preferred.dir)).split(':').filter(Boolean);
  const seen = new Set([fs.realpathSync(preferred.dir)]);
  const all = [preferred];
  for (const root of roots)
    for (const name of fs.existsSync(root) ? fs.readdirSync(root).sort() : []) {
      const dir = fs.realpathSync(path.join(root, name));
      if (seen.has(dir)) continue;
      seen.add(dir);
      const jdk = jdkAt(dir);
      if (jdk) all.push(jdk);
    }
  const found = { all, default: preferred };
  if (env === process.env) hostJdksFound = found;
  return found;
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
  const host = hostJdks();
  const choice = chooseJdk(fs.readFileSync(pomPath, 'utf8'), host.all, host.default);
  const jdk = choice.jdk;
  const maven = hostMaven();
  const [jdkInstall, mavenInstall] = await Promise.all([
    cache.ensureFilled(
      'jdk',
      path.basename(jdk.dir),
      { version: jdk.version, integrity: jdk.integrity },
      async (unpacked) => copyFollowingLinks(jdk.dir, unpacked),
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
