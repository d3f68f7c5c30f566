/**
 * The local fleet's internal packages, published to the stack's Verdaccio: @acme/logger 1.0.0, and 2.0.0 whose
 * breaking change (`log` became `info`) is what the dependency-upgrade demo fixes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runChecked } from '../host/command';
import type { PackageRegistryInfo } from './package-registry';

export const LOGGER_PACKAGE = '@acme/logger';

const LOGGER_VERSIONS: Record<string, string> = {
  '1.0.0': 'module.exports = {\n  log(message) {\n    console.log(`[acme] ${message}`);\n  },\n};\n',
  '2.0.0': [
    '// 2.0: `log` is gone; use a level.',
    'module.exports = {',
    '  info(message) {',
    '    console.log(`[acme] info ${message}`);',
    '  },',
    '  warn(message) {',
    '    console.warn(`[acme] warn ${message}`);',
    '  },',
    '};',
    '',
  ].join('\n'),
};

async function publishedVersions(registry: PackageRegistryInfo): Promise<string[]> {
  const response = await fetch(`${registry.url.replace(/\/$/, '')}/${encodeURIComponent(LOGGER_PACKAGE)}`, {
    headers: { authorization: `Basic ${registry.auth}` },
  });
  if (response.status === 404) return [];
  if (!response.ok) throw new Error(`cannot read ${LOGGER_PACKAGE} from ${registry.url}: ${response.status}`);
  const body = (await response.json()) as { versions?: Record<string, unknown> };
  return Object.keys(body.versions ?? {});
}

/** Publishes whichever versions the registry does not have yet. */
export async function ensureInternalPackages(home: string, registry: PackageRegistryInfo): Promise<string[]> {
  const have = await publishedVersions(registry);
  const published: string[] = [];
  for (const [version, source] of Object.entries(LOGGER_VERSIONS)) {
    if (have.includes(version)) continue;
    const dir = path.join(home, 'packages', `logger-${version}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      `${JSON.stringify({ name: LOGGER_PACKAGE, version, main: 'index.js', license: 'UNLICENSED' }, null, 2)}\n`,
    );
    fs.writeFileSync(path.join(dir, 'index.js'), source);
    const host = new URL(registry.url).host;
    const npmrc = path.join(dir, '.npmrc');
    fs.writeFileSync(npmrc, `//${host}/:_auth=${registry.auth}\n`, { mode: 0o600 });
    await runChecked('npm', ['publish', '--registry', registry.url, '--userconfig', npmrc, '--no-audit', '--no-fund'], {
      cwd: dir,
    });
    fs.rmSync(npmrc);
    published.push(`${LOGGER_PACKAGE}@${version}`);
  }
  return published;
}
