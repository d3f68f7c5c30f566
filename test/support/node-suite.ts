/**
 * Repositories with a node:test suite that look like real ones (npm lifecycle scripts, TAP output, an optional
 * lockfile), and what tests read back from a run: its stored evidence and the local forge's change request.
 */
import fs from 'node:fs';
import path from 'node:path';
import { artifactStoreFor } from '../../src/artifacts';
import type { RegattaClient } from '../../src/client';
import { loadConfig } from '../../src/config';
import { StepEvent, VerificationReport } from '../../src/contracts';

export interface NodeSuiteOptions {
  name: string;
  /** Source files by path. */
  sources: Record<string, string>;
  /** Test files by path, each run by `node --test` and reported as TAP. */
  tests: Record<string, string>;
  /** Write a package-lock.json beside package.json (many real repositories do, some do not). */
  lockfile?: boolean;
}

export function nodeSuiteFiles(options: NodeSuiteOptions): Record<string, string> {
  const packageJson = {
    name: options.name,
    version: '1.4.2',
    private: true,
    scripts: {
      pretest: 'node -e "process.exit(require(\'./package.json\').name ? 0 : 1)"',
      test: 'node --test --test-reporter=tap test/*.test.js',
      posttest: 'echo "suite finished"',
    },
  };
  const lock = { name: options.name, version: '1.4.2', lockfileVersion: 3, requires: true, packages: {} };
  return {
    '.gitignore': 'node_modules/\ncoverage/\n',
    // Real package.json files are often indented with tabs.
    'package.json': `${JSON.stringify(packageJson, null, '\t')}\n`,
    ...(options.lockfile ? { 'package-lock.json': `${JSON.stringify(lock, null, 2)}\n` } : {}),
    ...options.sources,
    ...options.tests,
  };
}

/** A node:test file with one test per entry: `[name, assertion]`. */
export function nodeTestFile(subject: string, cases: [string, string][]): string {
  return [
    "const { test } = require('node:test');",
    "const assert = require('node:assert');",
    `const subject = require('${subject}');`,
    '',
    ...cases.flatMap(([name, assertion]) => [`test('${name}', () => {`, `  ${assertion}`, '});', '']),
  ].join('\n');
}

/** A date formatter whose month is off by one on the base: `formats dates` fails there, the other tests pass. */
export function dateLibrary(name: string, options: { dateBug: boolean; lockfile?: boolean }) {
  return nodeSuiteFiles({
    name,
    lockfile: options.lockfile,
    sources: {
      'src/format-date.js': `module.exports = (d) => \`\${d.getUTCFullYear()}-\${d.getUTCMonth()${options.dateBug ? '' : ' + 1'}}-\${d.getUTCDate()}\`;\n`,
      'src/greet.js': "module.exports = (name) => 'Helo, ' + name + '!';\n",
      'src/sum.js': 'module.exports = (a, b) => a + b;\n',
    },
    tests: {
      'test/format-date.test.js': nodeTestFile('../src/format-date', [
        ['formats dates', "assert.strictEqual(subject(new Date(Date.UTC(2026, 11, 6))), '2026-12-6');"],
      ]),
      'test/greet.test.js': nodeTestFile('../src/greet', [['greets by name', "assert.match(subject('Ada'), /Ada/);"]]),
      'test/sum.test.js': nodeTestFile('../src/sum', [['adds numbers', 'assert.strictEqual(subject(2, 3), 5);']]),
    },
  });
}

export interface RunEvidence {
  verification: VerificationReport;
  events: StepEvent[];
  memo: Record<string, unknown>;
}

/** The verification report and step events a run's execution stored, found through the run's memo. */
export async function runEvidence(client: RegattaClient, runId: string): Promise<RunEvidence> {
  const memo = ((await client.temporal.workflow.getHandle(runId).describe()).memo ?? {}) as Record<string, unknown>;
  const uris = memo.artifacts as Record<string, string>;
  const store = artifactStoreFor(loadConfig());
  const read = async (name: string) => JSON.parse((await store.get(uris[name])).toString('utf8')) as unknown;
  return {
    verification: VerificationReport.parse(await read('verification.json')),
    events: StepEvent.array().parse(await read('events.json')),
    memo,
  };
}

/** The body of the change request the local forge recorded for a campaign on a repository. */
export function localChangeRequestBody(repo: string, campaignId: string): string {
  const file = path.join(loadConfig().home, 'forge/local', repo, `${encodeURIComponent(`regatta/${campaignId}`)}.json`);
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { body: string }).body;
}
