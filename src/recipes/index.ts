/** The recipe registry: adding a recipe is adding a folder and a line here (an ecosystem's upgrade recipe lives in its src/ecosystems folder). */
import type { Step } from '../contracts';
import { goUpgradeRecipe } from '../ecosystems/go/upgrade';
import { pythonUpgradeRecipe } from '../ecosystems/python/upgrade';
import { mavenUpgradeRecipe } from '../ecosystems/maven/upgrade';
import { commandRecipe } from './command';
import { npmUpgradeRecipe } from './npm-upgrade';
import { replaceRecipe } from './replace';
import type { Recipe, RecipeContext, RecipeOutcome } from './types';

const RECIPES: { [K in Step['recipe']]: Recipe<Extract<Step, { recipe: K }>> } = {
  command: commandRecipe,
  replace: replaceRecipe,
  'npm-upgrade': npmUpgradeRecipe,
  'go-upgrade': goUpgradeRecipe,
  'python-upgrade': pythonUpgradeRecipe,
  'maven-upgrade': mavenUpgradeRecipe,
};

export function applyStep(step: Step, ctx: RecipeContext): Promise<RecipeOutcome> {
  return (RECIPES[step.recipe] as Recipe).apply(step, ctx);
}

export type { Recipe, RecipeContext, RecipeOutcome };
