/**
 * Scripts that tests' steps and agent commands run by name. Policies allow `node *` as node running a named script
 * file, never code on its command line (`node -e`), so a step that only has to take its time runs a file like these.
 */

/** `node scripts/wait.js <ms>` does nothing for `ms` milliseconds, then exits 0. */
export const WAIT_SCRIPT: Readonly<Record<string, string>> = {
  'scripts/wait.js': 'setTimeout(() => {}, Number(process.argv[2]));\n',
};

export function waitCommand(ms: number): string {
  return `node scripts/wait.js ${ms}`;
}
