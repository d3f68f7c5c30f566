/**
 * A scripted execution plane for control-plane tests: a real activity on the execution queue that returns
 * the evidence a script asks for, so campaign behaviour at scale is tested without a sandbox per run.
 * Tests of the execution plane itself use the real executeRun on real Docker.
 */
import { Context } from '@temporalio/activity';
import type { ExecutionResult, ExecutionSpec } from '../../src/contracts';
import { hashSpec } from '../../src/contracts/hash';

export type ScriptedOutcome = Partial<
  Pick<ExecutionResult, 'outcome' | 'failure' | 'touchedFiles' | 'commands' | 'verification' | 'scopeRequest'>
> & {
  costUsd?: number;
  /** Keep the activity running (heartbeating) for this long before answering. */
  holdMs?: number;
  /** Hand back evidence for a different spec, as a stale attempt would. */
  staleSpec?: boolean;
  /** Called when the activity answers, e.g. to count how many ran at once. */
  onFinish?: () => void;
};

export function scriptedExecution(script: (spec: ExecutionSpec) => ScriptedOutcome) {
  const calls: string[] = [];
  return {
    calls,
    activities: {
      async executeRun(spec: ExecutionSpec): Promise<ExecutionResult> {
        calls.push(spec.repo.name);
        const scripted = script(spec);
        const started = new Date().toISOString();
        try {
          if (scripted.holdMs) await holdWithHeartbeats(scripted.holdMs);
        } finally {
          scripted.onFinish?.();
        }
        const outcome = scripted.outcome ?? 'changed';
        return {
          runId: spec.runId,
          attempt: Context.current().info.attempt,
          specHash: scripted.staleSpec ? hashSpec({ ...spec, steps: [] }) : hashSpec(spec),
          outcome,
          failure: scripted.failure,
          touchedFiles: scripted.touchedFiles ?? (outcome === 'changed' ? ['README.md'] : []),
          commands: scripted.commands ?? [],
          verification: scripted.verification ?? { verdict: 'passed', commands: [] },
          scopeRequest: scripted.scopeRequest,
          cost: { promptTokens: 0, completionTokens: 0, usd: scripted.costUsd ?? 0 },
          manifest: { runId: spec.runId, attempt: 1, artifacts: [] },
          worker: { identity: 'scripted', hostname: 'test' },
          startedAt: started,
          finishedAt: new Date().toISOString(),
        };
      },
    },
  };
}

async function holdWithHeartbeats(ms: number): Promise<void> {
  const ctx = Context.current();
  const until = Date.now() + ms;
  while (Date.now() < until) {
    ctx.heartbeat();
    await ctx.sleep(Math.min(200, until - Date.now()));
  }
}
