/** The rules npm-upgrade applies before it touches a repository: which spec package.json gets, and which tool updates the lockfile. */
import { detectPackageManager, lockfileUpdateCommand } from '../../src/recipes/npm-upgrade/package-manager';
import { nextSpec } from '../../src/recipes/npm-upgrade/range';

describe("the repository's range style, kept", () => {
  it.each([
    ['0.3.2', '0.5.6', '0.5.6'],
    ['=0.3.2', '0.5.6', '0.5.6'],
    ['^1.0.0', '2.1.0', '^2.1.0'],
    ['^1.2', '2.1.0', '^2.1'],
    ['~1.0.3', '1.4.2', '~1.4.2'],
    ['~1.0', '1.4.2', '~1.4'],
    ['>=1.0.0', '2.1.0', '>=2.1.0'],
    ['1.x', '2.1.0', '2.x'],
    ['1.2.x', '2.1.0', '2.1.x'],
    ['1', '2.1.0', '2'],
    ['*', '2.1.0', '*'],
    ['^1.0.0', '2.0.0-rc.1', '^2.0.0-rc.1'],
  ])('%s moves to %s as %s', (current, resolved, expected) => {
    expect(nextSpec(current, resolved)).toBe(expected);
  });
});

describe('rangeStrategy, as Renovate names it', () => {
  it('pin writes the exact version whatever the repository wrote', () => {
    expect(nextSpec('^1.0.0', '2.1.0', 'pin')).toBe('2.1.0');
    expect(nextSpec('>=1 <3', '2.1.0', 'pin')).toBe('2.1.0');
  });

  it('bump moves the range to the new version even when it already admits it', () => {
    expect(nextSpec('^1.0.0', '1.4.0', 'bump')).toBe('^1.4.0');
  });

  it('replace leaves a range that already admits the new version, and replaces one that does not', () => {
    expect(nextSpec('^1.0.0', '1.4.0', 'replace')).toBe('^1.0.0');
    expect(nextSpec('>=1 <3', '2.5.0', 'replace')).toBe('>=1 <3');
    expect(nextSpec('~1.0.0', '1.4.0', 'replace')).toBe('~1.4.0');
    expect(nextSpec('0.3.2', '0.5.6', 'replace')).toBe('0.5.6');
  });

  it('refuses to guess a style for a range with several comparators, and says what to set', () => {
    const refused = nextSpec('>=1 <3', '3.0.0');
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toBe(
      '">=1 <3" has no single range style to keep (exact, ^, ~, >= or an x-range); set rangeStrategy to pin, or to replace while it admits the new version',
    );
  });
});

describe("the repository's package manager", () => {
  const none = { files: [], yarnLockIsBerry: false };

  it('is the packageManager field first, even beside another lockfile', () => {
    expect(
      detectPackageManager({
        ...none,
        packageManagerField: 'pnpm@9.12.0',
        files: ['package-lock.json', 'pnpm-lock.yaml'],
      }),
    ).toEqual({ name: 'pnpm', source: 'packageManager pnpm@9.12.0', lockfile: 'pnpm-lock.yaml' });
    expect(
      detectPackageManager({ ...none, packageManagerField: 'yarn@4.5.0+sha512.abc', files: ['yarn.lock'] }),
    ).toMatchObject({ name: 'yarn', yarnBerry: true });
  });

  it('is the lockfile present without the field, and npm without either', () => {
    expect(detectPackageManager({ ...none, files: ['pnpm-lock.yaml'] })).toMatchObject({
      name: 'pnpm',
      lockfile: 'pnpm-lock.yaml',
    });
    expect(detectPackageManager({ ...none, files: ['yarn.lock'] })).toEqual({
      name: 'yarn',
      source: 'yarn.lock',
      lockfile: 'yarn.lock',
      yarnBerry: false,
    });
    expect(detectPackageManager({ files: ['yarn.lock'], yarnLockIsBerry: true })).toMatchObject({
      name: 'yarn',
      yarnBerry: true,
    });
    expect(detectPackageManager({ ...none, files: ['package-lock.json'] })).toMatchObject({
      name: 'npm',
      lockfile: 'package-lock.json',
    });
    expect(detectPackageManager(none)).toEqual({ name: 'npm', source: 'no lockfile' });
  });

  it('refuses a packageManager field it cannot follow, naming the value', () => {
    expect((detectPackageManager({ ...none, packageManagerField: 'bun@1.1.0' }) as Error).message).toBe(
      'package.json\'s packageManager is "bun@1.1.0"; expected npm@<version>, pnpm@<version> or yarn@<version>',
    );
  });

  it('updates the lockfile with that tool, never running lifecycle scripts nor keeping a frozen lockfile', () => {
    expect(lockfileUpdateCommand({ name: 'npm', source: 'package-lock.json', lockfile: 'package-lock.json' })).toBe(
      'npm install --no-audit --no-fund --ignore-scripts',
    );
    expect(lockfileUpdateCommand({ name: 'pnpm', source: 'pnpm-lock.yaml', lockfile: 'pnpm-lock.yaml' })).toBe(
      'pnpm install --ignore-scripts --no-frozen-lockfile',
    );
    expect(lockfileUpdateCommand({ name: 'yarn', source: 'yarn.lock', lockfile: 'yarn.lock', yarnBerry: false })).toBe(
      'yarn install --ignore-scripts --non-interactive',
    );
    expect(lockfileUpdateCommand({ name: 'yarn', source: 'yarn.lock', lockfile: 'yarn.lock', yarnBerry: true })).toBe(
      'yarn install --mode=skip-build --no-immutable',
    );
  });
});
