/**
 * The package manager a repository uses, as Renovate and corepack decide it: the `packageManager` field first,
 * else the lockfile present, else npm.
 */
export type PackageManagerName = 'npm' | 'pnpm' | 'yarn';

export interface PackageManager {
  name: PackageManagerName;
  /** Why this one, for the step's detail: "packageManager pnpm@9.12.0", "pnpm-lock.yaml", "no lockfile". */
  source: string;
  /** The lockfile the install updates; absent: the repository has none. */
  lockfile?: string;
  /** Yarn 2 and later (berry) take other flags than yarn 1. */
  yarnBerry?: boolean;
}

/** What the sandbox program found at the repository's root. */
export interface RepositoryFiles {
  packageManagerField?: unknown;
  /** Which of LOCKFILES and `.yarnrc.yml` exist as regular files. */
  files: string[];
  /** yarn.lock begins with berry's `__metadata:` block. */
  yarnLockIsBerry: boolean;
}

const LOCKFILES: { file: string; manager: PackageManagerName }[] = [
  { file: 'pnpm-lock.yaml', manager: 'pnpm' },
  { file: 'yarn.lock', manager: 'yarn' },
  { file: 'npm-shrinkwrap.json', manager: 'npm' },
  { file: 'package-lock.json', manager: 'npm' },
];
export const INSPECTED_FILES = [...LOCKFILES.map((l) => l.file), '.yarnrc.yml'];

export function detectPackageManager(repo: RepositoryFiles): PackageManager | Error {
  const declared = repo.packageManagerField;
  if (declared !== undefined) {
    const m = typeof declared === 'string' ? /^(npm|pnpm|yarn)@(\d+)[^\s]*$/.exec(declared) : null;
    if (!m)
      return new Error(
        `package.json's packageManager is ${JSON.stringify(declared)}; expected npm@<version>, pnpm@<version> or yarn@<version>`,
      );
    const name = m[1] as PackageManagerName;
    const lockfile = LOCKFILES.find((l) => l.manager === name && repo.files.includes(l.file))?.file;
    return withBerry({ name, source: `packageManager ${declared}`, lockfile }, repo, Number(m[2]) >= 2);
  }
  const locked = LOCKFILES.find((l) => repo.files.includes(l.file));
  if (!locked) return { name: 'npm', source: 'no lockfile' };
  return withBerry({ name: locked.manager, source: locked.file, lockfile: locked.file }, repo, false);
}

function withBerry(pm: PackageManager, repo: RepositoryFiles, declaredBerry: boolean): PackageManager {
  if (pm.name !== 'yarn') return pm;
  return { ...pm, yarnBerry: declaredBerry || repo.yarnLockIsBerry || repo.files.includes('.yarnrc.yml') };
}

/**
 * The one command that brings the lockfile and node_modules in line with package.json, without running any
 * package's lifecycle scripts (verification runs the code). Without a lockfile, the tool's own settings decide
 * whether it writes one (npm reads `package-lock=false` from the repository's .npmrc).
 */
export function lockfileUpdateCommand(pm: PackageManager): string {
  switch (pm.name) {
    case 'npm':
      return 'npm install --no-audit --no-fund --ignore-scripts';
    case 'pnpm':
      // pnpm freezes the lockfile when CI is set; this install exists to change it.
      return 'pnpm install --ignore-scripts --no-frozen-lockfile';
    case 'yarn':
      return pm.yarnBerry
        ? 'yarn install --mode=skip-build --no-immutable'
        : 'yarn install --ignore-scripts --non-interactive';
  }
}
