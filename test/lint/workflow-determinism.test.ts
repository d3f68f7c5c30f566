/** The lint rule that keeps Node built-ins and I/O out of workflow code, run the way `npm run lint` runs it. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const eslintBin = path.join(root, 'node_modules', '.bin', 'eslint');

interface LintResult {
  filePath: string;
  messages: { line: number; message: string }[];
}

function eslint(args: string[], stdin?: string): LintResult[] {
  const run = spawnSync(eslintBin, ['--format', 'json', ...args], { cwd: root, input: stdin, encoding: 'utf8' });
  if (!run.stdout) throw new Error(`eslint failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as LintResult[];
}

async function lint(file: string, code: string): Promise<string[]> {
  const [result] = eslint(['--stdin', '--stdin-filename', file], code);
  return result.messages.map((m) => m.message);
}

describe('workflow determinism lint', () => {
  it('refuses Node built-ins, I/O libraries and activity code in workflows/', async () => {
    expect(await lint('workflows/bad.ts', "import fs from 'node:fs';\nexport const x = fs;\n")).toEqual([
      expect.stringContaining('no Node built-ins'),
    ]);
    expect(
      await lint('workflows/bad.ts', "import { readFileSync } from 'fs';\nexport const x = readFileSync;\n"),
    ).toEqual([expect.stringContaining('no Node built-ins')]);
    expect(await lint('workflows/bad.ts', "import Docker from 'dockerode';\nexport const x = Docker;\n")).toEqual([
      expect.stringContaining('call an activity'),
    ]);
    expect(
      await lint(
        'workflows/bad.ts',
        "import { createExecutionActivities } from '../activities/execution/execute-run';\nexport const x = createExecutionActivities;\n",
      ),
    ).toEqual([expect.stringContaining('type-only')]);
    expect(await lint('workflows/bad.ts', "export const x = () => fetch('http://example.invalid');\n")).toEqual([
      expect.stringContaining('does no I/O'),
    ]);
  });

  it('refuses values from the zod contracts in workflows/, and allows their types and the zod-free modules', async () => {
    expect(
      await lint('workflows/bad.ts', "import { RunRequest } from '../src/contracts';\nexport const x = RunRequest;\n"),
    ).toEqual([expect.stringContaining('zod contracts type-only')]);
    expect(
      await lint(
        'workflows/ledger/bad.ts',
        "import { SETTLED_RUN_STATES } from '../../src/contracts/run';\nexport const x = SETTLED_RUN_STATES;\n",
      ),
    ).toEqual([expect.stringContaining('zod contracts type-only')]);
    expect(await lint('workflows/bad.ts', "import { z } from 'zod';\nexport const x = z;\n")).toEqual([
      expect.stringContaining('zod contracts type-only'),
    ]);
    expect(
      await lint(
        'workflows/ok.ts',
        "import type { RunRequest } from '../src/contracts';\nimport { RUN_STATES } from '../src/contracts/run-states';\n" +
          "import { hashSpec } from '../src/contracts/hash';\nexport const x: [unknown, unknown, RunRequest?] = [RUN_STATES, hashSpec];\n",
      ),
    ).toEqual([]);
  });

  it('allows type-only activity imports in workflows, and Node built-ins elsewhere', async () => {
    expect(
      await lint(
        'workflows/ok.ts',
        "import type { ExecutionActivities } from '../activities/execution/execute-run';\nexport type X = ExecutionActivities;\n",
      ),
    ).toEqual([]);
    expect(await lint('activities/ok.ts', "import fs from 'node:fs';\nexport const x = fs;\n")).toEqual([]);
  });

  it('the workflows as they are pass the rule', async () => {
    const results = eslint(['workflows']);
    expect(results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line} ${m.message}`))).toEqual([]);
  });
});
