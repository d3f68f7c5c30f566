/**
 * `python-upgrade`: move a dependency the repository already declares to `version` in its requirements files
 * (`requirements*.txt` at the root) and pyproject.toml (PEP 621 and dependency groups), keeping each specifier's
 * style (== stays ==, >= and ~= are kept). Files are read and written through the sandbox, edited as text by the
 * worker. Lock data is made by the repository's own tool, in the sandbox, through the registry route:
 * - uv.lock: `uv lock --upgrade-package <pkg>==<version>` after the edit, the lock's own addresses put back
 *   (./uv-lock.ts);
 * - a requirements file compiled by pip-compile (its header says so): the sources its header names are edited only
 *   where they exclude the version, then pip-tools' `pip-compile --upgrade-package` rewrites it with the header's
 *   own command and options (./pip-compile.ts);
 * - Poetry (poetry.lock) is refused, naming the tool, rather than leaving the lock data behind.
 */
import type { z } from 'zod';
import type { PythonUpgradeStep } from '../../contracts/execution';
import type { Recipe, RecipeContext, RecipeOutcome } from '../../recipes/types';
import type { CommandResult } from '../../sandbox/driver';
import {
  isCompiledByPipCompile,
  PipCompileError,
  readCompileHeader,
  upgradeCompiled,
  type CompiledRequirements,
} from './pip-compile';
import { editPyproject } from './pyproject';
import { hostPythonIndex } from './registry';
import { editRequirementsFile, SpecifierError, type FileEdit } from './requirements';
import {
  indexFilesFrom,
  lockedVersion,
  lockRegistry,
  LockAddressError,
  pointLockAt,
  restoreLockAddresses,
} from './uv-lock';
import { shellQuote, writeFileCommand } from '../../text/shell';

type PythonUpgrade = z.infer<typeof PythonUpgradeStep>;

export const REQUIREMENTS_FILE = /^requirements[\w.-]*\.txt$/;

export const pythonUpgradeRecipe: Recipe<PythonUpgrade> = {
  name: 'python-upgrade',
  apply: (step, ctx) => new Upgrade(step, ctx).run(),
};

class Upgrade {
  private readonly results: CommandResult[] = [];
  private readonly commands: string[] = [];

  constructor(
    private readonly step: PythonUpgrade,
    private readonly ctx: RecipeContext,
  ) {}

  async run(): Promise<RecipeOutcome> {
    const listing = await this.exec('ls -1A');
    if (listing.exitCode !== 0) return this.outcome(false, `could not list the repository: ${listing.output.trim()}`);
    const files = listing.output.split('\n').map((f) => f.trim());
    if (files.includes('poetry.lock'))
      return this.outcome(
        false,
        `the repository is locked by Poetry (poetry.lock), which the sandbox does not have; python-upgrade does not update poetry.lock: use a command step with \`poetry update ${this.step.package}\``,
      );
    let compiled: CompiledRequirements[];
    try {
      compiled = await this.compiledRequirements(files);
    } catch (err) {
      if (err instanceof PipCompileError) return this.outcome(false, err.message);
      throw err;
    }
    // Compiled files and their sources are pip-compile's (below), edited only as it needs.
    const compiledOrSource = new Set(compiled.flatMap((c) => [c.file, ...c.sources]));
    const candidates = [
      ...files.filter((f) => REQUIREMENTS_FILE.test(f)).sort(),
      ...files.filter((f) => f === 'pyproject.toml'),
    ].filter((f) => !compiledOrSource.has(f));
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
    for (const edit of edits.filter((e) => e.after !== e.before)) {
      const written = await this.exec(writeFileCommand(edit.file, edit.after));
      if (written.exitCode !== 0) return this.outcome(false, `could not write ${edit.file}: ${written.output.trim()}`);
    }
    const moves = edits.flatMap((e) =>
      e.moves.map((m) => `${e.file} ${m.from === m.to ? `${m.from} (kept)` : `${m.from} → ${m.to}`}`),
    );
    const compiledMoves = await this.pipCompile(compiled);
    if (!compiledMoves.ok) return this.outcome(false, compiledMoves.detail);
    moves.push(...compiledMoves.moves);
    if (moves.length === 0) {
      const searched = [...candidates, ...compiled.flatMap((c) => [c.file, ...c.sources])];
      return this.outcome(
        false,
        `${this.step.package} is not in ${searched.length ? searched.join(', ') : 'any requirements*.txt or pyproject.toml'}; python-upgrade moves a dependency the repository already has`,
      );
    }
    if (files.includes('uv.lock')) {
      const locked = await this.uvLock();
      if (!locked.ok) return this.outcome(false, locked.detail);
      moves.push(locked.detail);
    }
    return this.outcome(true, `${this.step.package} ${this.step.version}: ${moves.join(', ')}`);
  }

  /** The requirements files pip-compile made, each with the sources and options its header records. */
  private async compiledRequirements(files: string[]): Promise<CompiledRequirements[]> {
    const compiled: CompiledRequirements[] = [];
    for (const file of files.filter((f) => REQUIREMENTS_FILE.test(f)).sort()) {
      const head = await this.exec(`head -c 2000 -- ${shellQuote(file)}`);
      if (isCompiledByPipCompile(head.output)) compiled.push(readCompileHeader(file, head.output, files));
    }
    return compiled;
  }

  /**
   * Each compiled file through pip-compile. One compiled against another (`-c requirements.txt` in its source) fails
   * while the other still pins the old version, so a failure is tried again after the rest, until a round moves none.
   */
  private async pipCompile(
    compiled: CompiledRequirements[],
  ): Promise<{ ok: boolean; detail: string; moves: string[] }> {
    const moves: string[] = [];
    let pending = compiled;
    while (pending.length > 0) {
      const failed: { file: CompiledRequirements; detail: string }[] = [];
      for (const c of pending) {
        const result = await upgradeCompiled((command) => this.exec(command), c, this.step.package, this.step.version);
        if (result?.command) this.commands.push(result.command);
        if (result && !result.ok) failed.push({ file: c, detail: result.detail });
        else if (result) moves.push(result.detail);
      }
      if (failed.length === pending.length) return { ok: false, detail: failed[0].detail, moves };
      pending = failed.map((f) => f.file);
    }
    return { ok: true, detail: '', moves };
  }

  /** `uv lock --upgrade-package` in the sandbox through its registry route, the lock's own addresses kept. */
  private async uvLock(): Promise<{ ok: boolean; detail: string }> {
    const before = await this.exec('cat uv.lock');
    if (before.exitCode !== 0) return { ok: false, detail: `could not read uv.lock: ${before.output.trim()}` };
    const route = (await this.exec('printf %s "$UV_DEFAULT_INDEX"')).output.trim();
    if (!route)
      return {
        ok: false,
        detail:
          "uv.lock is locked through the sandbox's registry route, and this sandbox has none: run with the registry_only network",
      };
    const registry = lockRegistry(before.output) ?? hostPythonIndex();
    if (!registry)
      return { ok: false, detail: 'uv.lock names no registry and the host has no Python index configured' };
    const write = (text: string) => this.exec(writeFileCommand('uv.lock', text));
    await write(pointLockAt(before.output, registry, route));
    const command = `uv lock --upgrade-package ${shellQuote(`${this.step.package}==${this.step.version}`)}`;
    const locked = await this.exec(command);
    this.commands.push(command);
    const after = await this.exec('cat uv.lock');
    if (locked.exitCode !== 0 || after.exitCode !== 0) {
      await write(before.output);
      return { ok: false, detail: `${command} failed: ${locked.output.trim().split('\n').slice(-5).join(' ')}` };
    }
    let restored: string;
    try {
      restored = await restoreLockAddresses(
        after.output,
        route,
        registry,
        indexFilesFrom(hostPythonIndex() ?? registry),
      );
    } catch (err) {
      if (!(err instanceof LockAddressError)) throw err;
      await write(before.output);
      return { ok: false, detail: err.message };
    }
    await write(restored);
    const version = lockedVersion(restored, this.step.package);
    if (version !== this.step.version)
      return { ok: false, detail: `${command} locked ${this.step.package} at ${version ?? 'no version'}` };
    return { ok: true, detail: `uv.lock ${lockedVersion(before.output, this.step.package) ?? '(none)'} → ${version}` };
  }

  private async exec(command: string): Promise<CommandResult> {
    const result = await this.ctx.exec(command);
    this.results.push(result);
    return result;
  }

  private outcome(ok: boolean, detail: string): RecipeOutcome {
    return { ok, detail, commands: [...this.commands], results: [...this.results] };
  }
}
