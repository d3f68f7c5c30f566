/**
 * `python-upgrade`: move a dependency the repository already declares to `version` in its requirements files
 * (`requirements*.txt` at the root) and pyproject.toml (PEP 621 and dependency groups), keeping each specifier's
 * style (== stays ==, >= and ~= are kept). Files are read and written through the sandbox, edited as text by the
 * worker. A repository with a uv.lock is refused for now: locking through the sandbox's registry route would write
 * that route's addresses into the lockfile.
 */
import type { z } from 'zod';
import type { PythonUpgradeStep } from '../../contracts/execution';
import type { Recipe, RecipeContext, RecipeOutcome } from '../../recipes/types';
import type { CommandResult } from '../../sandbox/driver';
import { editPyproject } from './pyproject';
import { editRequirementsFile, SpecifierError, type FileEdit } from './requirements';

type PythonUpgrade = z.infer<typeof PythonUpgradeStep>;

export const REQUIREMENTS_FILE = /^requirements[\w.-]*\.txt$/;

export const pythonUpgradeRecipe: Recipe<PythonUpgrade> = {
  name: 'python-upgrade',
  apply: (step, ctx) => new Upgrade(step, ctx).run(),
};

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

class Upgrade {
  private readonly results: CommandResult[] = [];

  constructor(
    private readonly step: PythonUpgrade,
    private readonly ctx: RecipeContext,
  ) {}

  async run(): Promise<RecipeOutcome> {
    const listing = await this.exec('ls -1A');
    if (listing.exitCode !== 0) return this.outcome(false, `could not list the repository: ${listing.output.trim()}`);
    const files = listing.output.split('\n').map((f) => f.trim());
    if (files.includes('uv.lock'))
      return this.outcome(
        false,
        'the repository has a uv.lock, which python-upgrade does not update yet; use a command step with `uv lock --upgrade-package`',
      );
    const candidates = [
      ...files.filter((f) => REQUIREMENTS_FILE.test(f)).sort(),
      ...files.filter((f) => f === 'pyproject.toml'),
    ];
    const edits: FileEdit[] = [];
    try {
      for (const file of candidates) {
        const read = await this.exec(`cat -- ${shellQuote(file)}`);
        if (read.exitCode !== 0) return this.outcome(false, `could not read ${file}: ${read.output.trim()}`);
        const edit = (file === 'pyproject.toml' ? editPyproject : editRequirementsFile)(
          file,
          read.output,
          this.step.package,
          this.step.version,
        );
        if (edit.moves.length > 0) edits.push(edit);
      }
    } catch (err) {
      if (err instanceof SpecifierError) return this.outcome(false, err.message);
      throw err;
    }
    if (edits.length === 0)
      return this.outcome(
        false,
        `${this.step.package} is not in ${candidates.length ? candidates.join(', ') : 'any requirements*.txt or pyproject.toml'}; python-upgrade moves a dependency the repository already has`,
      );
    for (const edit of edits.filter((e) => e.after !== e.before)) {
      const written = await this.exec(
        `printf '%s' ${shellQuote(Buffer.from(edit.after).toString('base64'))} | base64 -d > ${shellQuote(edit.file)}`,
      );
      if (written.exitCode !== 0) return this.outcome(false, `could not write ${edit.file}: ${written.output.trim()}`);
    }
    const moves = edits.flatMap((e) =>
      e.moves.map((m) => `${e.file} ${m.from === m.to ? `${m.from} (kept)` : `${m.from} → ${m.to}`}`),
    );
    return this.outcome(true, `${this.step.package} ${this.step.version}: ${moves.join(', ')}`);
  }

  private async exec(command: string): Promise<CommandResult> {
    const result = await this.ctx.exec(command);
    this.results.push(result);
    return result;
  }

  private outcome(ok: boolean, detail: string): RecipeOutcome {
    return { ok, detail, commands: [], results: [...this.results] };
  }
}
