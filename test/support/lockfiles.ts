/** Lockfiles as package managers write them, for fixtures that must look like real repositories. */

/** The integrity a registry gives one version of a package. */
export async function integrityOf(registry: string, name: string, version: string): Promise<string> {
  const packument = (await (await fetch(`${registry}${name.replace('/', '%2f')}`)).json()) as {
    versions: Record<string, { dist: { integrity: string } }>;
  };
  const integrity = packument.versions[version]?.dist.integrity;
  if (!integrity) throw new Error(`${registry} has no integrity for ${name}@${version}`);
  return integrity;
}

/** pnpm-lock.yaml as pnpm 9 writes it for one dependency. */
export function pnpmLockfile(dep: {
  section: 'dependencies' | 'devDependencies';
  name: string;
  specifier: string;
  version: string;
  integrity: string;
}): string {
  return [
    "lockfileVersion: '9.0'",
    '',
    'settings:',
    '  autoInstallPeers: true',
    '  excludeLinksFromLockfile: false',
    '',
    'importers:',
    '',
    '  .:',
    `    ${dep.section}:`,
    `      '${dep.name}':`,
    `        specifier: ${dep.specifier}`,
    `        version: ${dep.version}`,
    '',
    'packages:',
    '',
    `  '${dep.name}@${dep.version}':`,
    `    resolution: {integrity: ${dep.integrity}}`,
    '',
    'snapshots:',
    '',
    `  '${dep.name}@${dep.version}': {}`,
    '',
  ].join('\n');
}
