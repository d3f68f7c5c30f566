/** `npm-upgrade`: bump a dependency in package.json and its lockfile, inside the sandbox (registry_only network). */
import type { Step } from '../../contracts';
import type { Recipe } from '../types';

type NpmUpgradeStep = Extract<Step, { recipe: 'npm-upgrade' }>;

export const npmUpgradeRecipe: Recipe<NpmUpgradeStep> = {
  name: 'npm-upgrade',
  async apply(step, ctx) {
    // --ignore-scripts: installing must not run the new package's lifecycle scripts; verification runs the code.
    const command = `npm install --no-audit --no-fund --ignore-scripts ${step.package}@${step.version}`;
    const result = await ctx.exec(command);
    return {
      ok: result.exitCode === 0,
      detail: result.exitCode === 0 ? `${step.package} now ${step.version}` : `npm install exited ${result.exitCode}: ${result.output.slice(-500)}`,
      commands: [command],
      results: [result],
    };
  },
};
