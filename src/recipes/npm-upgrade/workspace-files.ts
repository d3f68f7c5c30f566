/**
 * The small node programs npm-upgrade runs in the sandbox to read and edit the repository's files, so the host
 * never follows a path the repository controls. package.json is edited as text, value by value: tabs, key order
 * and the final newline stay the repository's, and the edit is refused if it would change anything else.
 */
import type { RecipeContext } from '../types';
import type { CommandResult } from '../../sandbox/driver';
import { INSPECTED_FILES, type RepositoryFiles } from './package-manager';
import { shellQuote } from '../../text/shell';

export const DEPENDENCY_SECTIONS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;
export type DependencySection = (typeof DEPENDENCY_SECTIONS)[number];

export interface SpecEdit {
  section: DependencySection;
  from: string;
  to: string;
}

const BACKUP_DIR = '/tmp/regatta-npm-upgrade';

const PROGRAM = `
const fs = require('fs'), path = require('path');
const { op, name, edits, files, backup } = JSON.parse(process.argv[1]);
const isFile = (f) => { try { return fs.lstatSync(f).isFile(); } catch { return false; } };
const esc = (s) => s.replace(/[.*+?^\${}()|[\\]\\\\]/g, '\\\\$&');
if (op === 'inspect') {
  const onPath = (tool) => (process.env.PATH || '').split(':').some((d) => { try { fs.accessSync(path.join(d, tool), fs.constants.X_OK); return true; } catch { return false; } });
  const yarnLock = isFile('yarn.lock') ? fs.readFileSync('yarn.lock', 'utf8').slice(0, 4096) : '';
  console.log(JSON.stringify({
    packageJson: isFile('package.json') ? fs.readFileSync('package.json', 'utf8') : null,
    files: files.filter(isFile),
    yarnLockIsBerry: /^__metadata:/m.test(yarnLock),
    tools: { npm: onPath('npm'), pnpm: onPath('pnpm'), yarn: onPath('yarn') },
  }));
} else if (op === 'backup') {
  fs.rmSync(backup, { recursive: true, force: true });
  fs.mkdirSync(backup);
  for (const f of files.filter(isFile)) fs.copyFileSync(f, path.join(backup, f));
} else if (op === 'restore') {
  for (const f of files) {
    if (isFile(path.join(backup, f))) fs.copyFileSync(path.join(backup, f), f);
    else if (isFile(f)) fs.unlinkSync(f);
  }
} else if (op === 'installed') {
  console.log(JSON.stringify(JSON.parse(fs.readFileSync(path.join('node_modules', name, 'package.json'), 'utf8')).version));
} else if (op === 'edit') {
  let text = fs.readFileSync('package.json', 'utf8');
  const want = JSON.parse(text);
  for (const e of edits) {
    const section = new RegExp('"' + esc(e.section) + '"\\\\s*:\\\\s*\\\\{', 'g');
    const start = section.exec(text);
    const entry = new RegExp('(' + esc(JSON.stringify(name)) + '\\\\s*:\\\\s*)' + esc(JSON.stringify(e.from)), 'g');
    entry.lastIndex = start ? start.index + start[0].length : text.length;
    const found = entry.exec(text);
    if (!found) throw new Error('package.json has no ' + e.section + ' entry ' + name + ': ' + e.from);
    text = text.slice(0, found.index) + found[1] + JSON.stringify(e.to) + text.slice(found.index + found[0].length);
    want[e.section][name] = e.to;
  }
  if (JSON.stringify(JSON.parse(text)) !== JSON.stringify(want)) throw new Error('editing package.json as text would change more than ' + name);
  fs.writeFileSync('package.json', text);
}
`;

/** Runs one operation of the program; the results go into the step's log, but they are the recipe's, not the repository's, commands. */
export class WorkspaceFiles {
  constructor(
    private readonly ctx: RecipeContext,
    private readonly packageName: string,
    /** Every command result of the step, in the order they ran. */
    private readonly results: CommandResult[],
    /** The files an install may change, backed up so an upgrade that changes nothing leaves them as they were. */
    private readonly installed: string[] = ['package.json', ...INSPECTED_FILES],
  ) {}

  async inspect(): Promise<(RepositoryFiles & { packageJson: string | null; tools: Record<string, boolean> }) | Error> {
    const output = await this.run({ op: 'inspect', files: INSPECTED_FILES });
    return output instanceof Error ? output : JSON.parse(output);
  }

  async backup(): Promise<Error | undefined> {
    const output = await this.run({ op: 'backup', files: this.installed, backup: BACKUP_DIR });
    return output instanceof Error
      ? new Error(`could not keep a copy of package.json and the lockfile: ${output.message}`)
      : undefined;
  }

  async restore(): Promise<Error | undefined> {
    const output = await this.run({ op: 'restore', files: this.installed, backup: BACKUP_DIR });
    return output instanceof Error
      ? new Error(`could not put package.json and the lockfile back: ${output.message}`)
      : undefined;
  }

  async installedVersion(): Promise<string | Error> {
    const output = await this.run({ op: 'installed', name: this.packageName });
    return output instanceof Error
      ? new Error(`could not read the installed version of ${this.packageName} from node_modules (${output.message})`)
      : JSON.parse(output);
  }

  async edit(edits: SpecEdit[]): Promise<Error | undefined> {
    const output = await this.run({ op: 'edit', name: this.packageName, edits });
    return output instanceof Error ? new Error(`could not edit package.json: ${output.message}`) : undefined;
  }

  /** The program's last line of output, or an Error with the tail of what it printed. */
  private async run(args: object): Promise<string | Error> {
    const result = await this.ctx.exec(`node -e ${shellQuote(PROGRAM)} ${shellQuote(JSON.stringify(args))}`);
    this.results.push(result);
    if (result.exitCode !== 0) {
      const lines = result.output.trim().split('\n');
      return new Error(lines.filter((l) => /^\w*Error\b/.test(l)).at(-1) ?? lines.slice(-3).join(' ').slice(-500));
    }
    return result.output.trim().split('\n').at(-1) ?? '';
  }
}
