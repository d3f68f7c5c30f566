/**
 * `go-upgrade`: move a module the repository already requires to `version` the way go does it, in the sandbox on
 * the registry_only network: `go get module@version`, then `go mod tidy`. go.mod and go.sum are written by the go
 * command alone, so they keep go's own formatting. A module go.mod does not require is refused before anything runs.
 */
import type { GoUpgradeStep } from '../../contracts/execution';
import type { CommandResult } from '../../sandbox/driver';
import type { Recipe, RecipeContext, RecipeOutcome } from '../../recipes/types';
import { parseGoMod, requiredVersion } from './go-mod';
import type { z } from 'zod';

type GoUpgrade = z.infer<typeof GoUpgradeStep>;

export const goUpgradeRecipe: Recipe<GoUpgrade> = {
  name: 'go-upgrade',
  apply: (step, ctx) => new Upgrade(step, ctx).run(),
};

class Upgrade {
  private readonly results: CommandResult[] = [];
  private readonly commands: string[] = [];

  constructor(
    private readonly step: GoUpgrade,
    private readonly ctx: RecipeContext,
  ) {}

  async run(): Promise<RecipeOutcome> {
    const before = await this.readGoMod();
    if (before instanceof Error) return this.outcome(false, before.message);
    const from = requiredVersion(before, this.step.module);
    if (!from)
      return this.outcome(
        false,
        `${this.step.module} is not in go.mod's require (it requires ${before.requires.map((r) => r.module).join(', ') || 'nothing'}); go-upgrade moves a dependency the repository already has`,
      );
    const failed = (await this.go(`go get ${this.step.module}@${this.step.version}`)) ?? (await this.go('go mod tidy'));
    if (failed) return this.outcome(false, failed.message);
    const after = await this.readGoMod();
    if (after instanceof Error) return this.outcome(false, after.message);
    const to = requiredVersion(after, this.step.module) ?? 'removed by go mod tidy';
    const detail =
      to === from
        ? `${this.step.module} ${from} already satisfies @${this.step.version}; nothing changed`
        : `${this.step.module} ${from} → ${to} (go get, go mod tidy)`;
    return this.outcome(true, detail);
  }

  private async readGoMod() {
    const result = await this.ctx.exec('cat go.mod');
    this.results.push(result);
    if (result.exitCode !== 0) return new Error('the repository has no go.mod at its root');
    return parseGoMod(result.output);
  }

  /** A repository command: reported to the control plane, which checks it against the policy's allowlist. */
  private async go(command: string): Promise<Error | undefined> {
    const result = await this.ctx.exec(command);
    this.commands.push(command);
    this.results.push(result);
    if (result.exitCode === 0) return undefined;
    return new Error(
      `\`${command}\` exited ${result.exitCode}${result.timedOut ? ' (timed out)' : ''}: ${result.output.trim().slice(-500)}`,
    );
  }

  private outcome(ok: boolean, detail: string): RecipeOutcome {
    return { ok, detail, commands: [...this.commands], results: [...this.results] };
  }
}
