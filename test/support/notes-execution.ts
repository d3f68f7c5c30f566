/**
 * A scripted execution plane that really reads the repository: it clones the run's base, capitalises the line of
 * NOTES.md that starts with `alpha` as the base has it now, and stores that patch as the run's artifact. Tests of the
 * change lifecycle use it because a re-execution on a moved base must produce a patch for that base.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import type { ArtifactStore } from '../../src/artifacts/store';
import { runArtifactKey } from '../../src/artifacts/store';
import type { ExecutionResult, ExecutionSpec } from '../../src/contracts';
import { fileDiff } from '../../src/git/diff';
import { scriptedExecution } from './scripted-execution';

export const NOTES = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'].join('\n') + '\n';

export function capitaliseAlphaExecution(artifacts: ArtifactStore, options: { costUsd?: number } = {}) {
  /** One entry per execution, with the base commit it read. */
  const executions: { repo: string; baseCommit: string; runId: string }[] = [];
  /** Repositories whose next execution fails verification. */
  const failVerification = new Set<string>();

  async function executeRun(spec: ExecutionSpec): Promise<ExecutionResult> {
    const attempt = Context.current().info.attempt;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capitalise-'));
    try {
      await git.clone({ fs, http, dir, url: spec.repo.url, ref: spec.repo.ref, singleBranch: true, depth: 1 });
      const baseCommit = await git.resolveRef({ fs, dir, ref: 'HEAD' });
      executions.push({ repo: spec.repo.name, baseCommit, runId: spec.runId });
      const before = fs.readFileSync(path.join(dir, 'NOTES.md'), 'utf8');
      const after = before.replace(/^alpha.*$/m, (line) => line.toUpperCase());
      const patch = await artifacts.put(
        runArtifactKey(spec.runId, attempt, 'patch.diff'),
        fileDiff('NOTES.md', before, after),
        'patch',
      );
      const failing = failVerification.delete(spec.repo.name);
      const command = { command: 'npm test', durationMs: 1, outputTruncated: false };
      const scripted = scriptedExecution(() => ({
        touchedFiles: ['NOTES.md'],
        costUsd: options.costUsd ?? 0,
        verification: {
          verdict: failing ? 'failed' : 'passed',
          commands: [{ ...command, exitCode: failing ? 1 : 0, output: failing ? 'not ok 1' : 'ok 1' }],
        },
      }));
      const result = await scripted.activities.executeRun(spec);
      return { ...result, attempt, baseCommit, manifest: { runId: spec.runId, attempt, artifacts: [patch] } };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  return { executeRun, executions, failVerification };
}
