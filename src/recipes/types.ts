/** A recipe is a deterministic step; each lives in its own folder behind this one interface. */
import type { Step, StepEvent } from '../contracts';
import type { CommandResult } from '../sandbox/driver';

export interface RecipeContext {
  /** Runs a shell command in the run's sandbox (never on the host). */
  exec(command: string): Promise<CommandResult>;
  /** Appends a StepEvent to the run's log. */
  emit(event: Omit<StepEvent, 'seq' | 'at'>): void;
}

export interface RecipeOutcome {
  ok: boolean;
  detail: string;
  /** Commands the step ran on the repository's behalf, checked by the control plane against the allowlist. */
  commands: string[];
  results: CommandResult[];
}

export interface Recipe<S extends Step = Step> {
  readonly name: S['recipe'];
  apply(step: S, ctx: RecipeContext): Promise<RecipeOutcome>;
}
