/**
 * `npm-upgrade`: move a dependency the repository already has to a new version, in package.json (in the
 * repository's range style, or as the step's `rangeStrategy` says) and in its lockfile, with the repository's own
 * package manager, inside the sandbox (registry_only network).
 *
 * An exact `version` is written as it is. A range or dist-tag is resolved by the package manager itself: the step
 * writes it, installs, reads the version installed, then writes the spec in the repository's style and installs
 * again (a no-op for the registry). An upgrade that changes no spec puts the files back as they were.
 */
import type { Step } from '../../contracts';
import type { CommandResult } from '../../sandbox/driver';
import type { Recipe, RecipeContext, RecipeOutcome } from '../types';
import { detectPackageManager, lockfileUpdateCommand, type PackageManager } from './package-manager';
import { isExactVersion, nextSpec } from './range';
import { DEPENDENCY_SECTIONS, WorkspaceFiles, type DependencySection } from './workspace-files';

type NpmUpgradeStep = Extract<Step, { recipe: 'npm-upgrade' }>;

interface DeclaredSpec {
  section: DependencySection;
  spec: string;
}

export const npmUpgradeRecipe: Recipe<NpmUpgradeStep> = {
  name: 'npm-upgrade',
  apply: (step, ctx) => new Upgrade(step, ctx).run(),
};

class Upgrade {
  private readonly results: CommandResult[] = [];
  private readonly commands: string[] = [];
  private readonly files: WorkspaceFiles;
  /** The step's range was written into package.json and installed, to learn which version it resolves to. */
  private resolvedByInstall = false;

  constructor(
    private readonly step: NpmUpgradeStep,
    private readonly ctx: RecipeContext,
  ) {
    this.files = new WorkspaceFiles(ctx, step.package, this.results);
  }

  async run(): Promise<RecipeOutcome> {
    const repo = await this.files.inspect();
    if (repo instanceof Error) return this.fail(`could not read the repository's package files: ${repo.message}`);
    if (repo.packageJson === null) return this.fail('the repository has no package.json at its root');
    let manifest: Record<string, unknown>;
    try {
      manifest = JSON.parse(repo.packageJson);
    } catch (err) {
      return this.fail(`package.json is not valid JSON: ${(err as Error).message}`);
    }
    const declared = DEPENDENCY_SECTIONS.flatMap((section): DeclaredSpec[] => {
      const spec = (manifest[section] as Record<string, unknown> | undefined)?.[this.step.package];
      return typeof spec === 'string' ? [{ section, spec }] : [];
    });
    if (declared.length === 0)
      return this.fail(
        `${this.step.package} is not in package.json's ${DEPENDENCY_SECTIONS.join(', ')}; npm-upgrade moves a dependency the repository already has`,
      );
    const pm = detectPackageManager({
      packageManagerField: manifest.packageManager,
      files: repo.files,
      yarnLockIsBerry: repo.yarnLockIsBerry,
    });
    if (pm instanceof Error) return this.fail(pm.message);
    if (!repo.tools[pm.name])
      return this.fail(
        `the repository uses ${pm.name} (${pm.source}), and this sandbox has no \`${pm.name}\` on PATH to update it with`,
      );

    const resolved = isExactVersion(this.step.version)
      ? this.step.version.replace(/^=\s*/, '')
      : await this.resolve(declared, pm);
    if (resolved instanceof Error) return this.fail(resolved.message);
    const planned: (DeclaredSpec & { next: string })[] = [];
    for (const d of declared) {
      const next = nextSpec(d.spec, resolved, this.step.rangeStrategy);
      if (next instanceof Error)
        return this.fail(`${d.section}.${this.step.package} is ${JSON.stringify(d.spec)}: ${next.message}`);
      planned.push({ ...d, next });
    }
    const strategy = this.step.rangeStrategy ? `, rangeStrategy ${this.step.rangeStrategy}` : '';
    if (planned.every((p) => p.next === p.spec)) {
      const restored = this.resolvedByInstall ? await this.files.restore() : undefined;
      if (restored) return this.fail(restored.message);
      return this.outcome(
        true,
        `${this.step.package} ${declared.map((d) => d.spec).join(', ')} already admits ${resolved}${strategy}; nothing changed`,
      );
    }
    const inFile = (d: DeclaredSpec) => (this.resolvedByInstall ? this.step.version : d.spec);
    const edits = planned
      .filter((p) => inFile(p) !== p.next)
      .map((p) => ({ section: p.section, from: inFile(p), to: p.next }));
    if (edits.length > 0) {
      const failed = (await this.files.edit(edits)) ?? (await this.install(pm));
      if (failed) return this.fail(failed.message);
    }
    const moves = planned.map(
      (p) => `${p.section} ${p.spec === p.next ? `${p.spec} (kept)` : `${p.spec} → ${p.next}`}`,
    );
    return this.outcome(
      true,
      `${this.step.package} ${resolved}: ${moves.join(', ')} (${pm.name}, ${pm.lockfile ?? 'no lockfile'}${strategy})`,
    );
  }

  /** Writes the step's range in place of each spec, installs, and reads the version the package manager chose. */
  private async resolve(declared: DeclaredSpec[], pm: PackageManager): Promise<string | Error> {
    const failed =
      (await this.files.backup()) ??
      (await this.files.edit(declared.map(({ section, spec }) => ({ section, from: spec, to: this.step.version })))) ??
      (await this.install(pm));
    if (failed) return failed;
    this.resolvedByInstall = true;
    return this.files.installedVersion();
  }

  private async install(pm: PackageManager): Promise<Error | undefined> {
    const command = lockfileUpdateCommand(pm);
    const result = await this.ctx.exec(command);
    this.commands.push(command);
    this.results.push(result);
    if (result.exitCode === 0) return undefined;
    return new Error(
      `\`${command}\` exited ${result.exitCode}${result.timedOut ? ' (timed out)' : ''}: ${result.output.trim().slice(-500)}`,
    );
  }

  private fail(detail: string): RecipeOutcome {
    return this.outcome(false, detail);
  }

  private outcome(ok: boolean, detail: string): RecipeOutcome {
    return { ok, detail, commands: [...this.commands], results: [...this.results] };
  }
}
