/**
 * Maven's repository as this host's Maven is configured: the first mirror of `central` (or of everything) in the
 * user's ~/.m2/settings.xml, else in Maven's global conf/settings.xml, else the `central` repository of the super POM
 * shipped inside the host's Maven (maven-model-builder's pom-4.0.0.xml). Sandboxes reach it through the egress proxy's
 * read-only route (GET and HEAD only, no credentials): the toolchain's settings.xml names that route as the mirror of
 * every repository (see ./toolchain.ts), from REGATTA_MAVEN_MIRROR.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImmutableArtifact } from '../../registry/artifact-cache';
import type { EcosystemRegistry } from '../types';

export const MIRROR_ENV = 'REGATTA_MAVEN_MIRROR';

/** The host's Maven installation directory (MAVEN_HOME), from the `mvn` on PATH; undefined without Maven. */
export function hostMavenHome(): string | undefined {
  try {
    const mvn = execFileSync('sh', ['-c', 'readlink -f "$(command -v mvn)"'], { encoding: 'utf8' }).trim();
    return mvn ? path.dirname(path.dirname(mvn)) : undefined;
  } catch {
    return undefined;
  }
}

/** The URL of the first usable mirror of central in a settings.xml (blocked mirrors and comments skipped). */
export function centralMirrorIn(settingsXml: string): string | undefined {
  const text = settingsXml.replace(/<!--[\s\S]*?-->/g, '');
  for (const m of text.matchAll(/<mirror\s*>([\s\S]*?)<\/mirror\s*>/g)) {
    const field = (name: string) => new RegExp(`<${name}\\s*>([^<]*)</${name}\\s*>`).exec(m[1])?.[1].trim();
    if (field('blocked') === 'true') continue;
    const mirrorOf = (field('mirrorOf') ?? '').split(',').map((s) => s.trim());
    const url = field('url');
    if (
      url &&
      /^https?:\/\//.test(url) &&
      (mirrorOf.includes('*') || mirrorOf.includes('central') || mirrorOf.includes('external:*'))
    )
      return url;
  }
  return undefined;
}

/** The `central` repository URL of the super POM inside the host's Maven. */
function superPomCentral(mavenHome: string): string | undefined {
  const lib = path.join(mavenHome, 'lib');
  const jar = fs.readdirSync(lib, { withFileTypes: true }).find((e) => e.name.startsWith('maven-model-builder'));
  if (!jar) return undefined;
  const pom = execFileSync('unzip', ['-p', path.join(lib, jar.name), 'org/apache/maven/model/pom-4.0.0.xml'], {
    encoding: 'utf8',
  });
  const central = /<repository>\s*<id>central<\/id>[\s\S]*?<url>([^<]+)<\/url>/.exec(pom);
  return central?.[1].trim();
}

let resolved: { url: string | undefined } | undefined;

/** The repository this host's Maven downloads from (REGATTA_MAVEN_REPOSITORY overrides it). */
export function hostMavenRepository(): string | undefined {
  if (process.env.REGATTA_MAVEN_REPOSITORY) return process.env.REGATTA_MAVEN_REPOSITORY;
  if (!resolved) {
    const home = hostMavenHome();
    const candidates = [
      path.join(os.homedir(), '.m2', 'settings.xml'),
      ...(home ? [path.join(home, 'conf', 'settings.xml')] : []),
    ];
    let url: string | undefined;
    for (const file of candidates) {
      url ??= fs.existsSync(file) ? centralMirrorIn(fs.readFileSync(file, 'utf8')) : undefined;
    }
    try {
      url ??= home ? superPomCentral(home) : undefined;
    } catch {
      url = undefined;
    }
    resolved = { url };
  }
  return resolved.url;
}

const CHECKSUM_FILE = /\.(?:sha1|sha256|sha512|md5|asc)$/;

/**
 * A Maven repository path the host may cache: a release's file (`group/…/artifact/version/artifact-version….ext`),
 * checked against the `.sha1` the repository serves beside it; its checksum files as they are. Never
 * `maven-metadata.xml` (it changes with every release) nor anything of a `-SNAPSHOT` version.
 */
export function mavenImmutableArtifact(registryPath: string): ImmutableArtifact | undefined {
  const clean = registryPath.split('?')[0] ?? '';
  if (registryPath.includes('?') || /SNAPSHOT/i.test(clean) || /(^|\/)maven-metadata[^/]*$/.test(clean))
    return undefined;
  const parts = clean.split('/').filter(Boolean);
  // group (one segment at least), artifact, version, file named after artifact and version.
  if (parts.length < 4) return undefined;
  const [artifact, version, file] = parts.slice(-3);
  if (!file.startsWith(`${artifact}-${version}`)) return undefined;
  return CHECKSUM_FILE.test(file) ? {} : { checksum: { path: `${clean}.sha1`, algorithm: 'sha1' } };
}

export const mavenRegistry: EcosystemRegistry = {
  immutableArtifact: mavenImmutableArtifact,
  upstream: hostMavenRepository,
  sandboxEnv: (routeUrl) => ({ [MIRROR_ENV]: routeUrl }),
};
