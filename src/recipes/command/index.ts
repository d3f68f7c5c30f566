/** `command`: one shell command, run in the sandbox in /workspace. */
import type { Step } from '../../contracts';
import type { Recipe } from '../types';

type CommandStep = Extract<Step, { recipe: 'command' }>;

export const commandRecipe: Recipe<CommandStep> = {
  name: 'command',
  async apply(step, ctx) {
    const result = await ctx.exec(step.run);
    return {
      ok: result.exitCode === 0,
      detail: result.exitCode === 0 ? 'exited 0' : `exited ${result.exitCode}${result.timedOut ? ' (timed out)' : ''}`,
      commands: [step.run],
      results: [result],
    };
  },
};
