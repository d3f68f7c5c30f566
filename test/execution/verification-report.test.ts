/**
 * A verification report says what the repository's own `npm test` said: its tests' TAP counts and, when every
 * test passed but the command still failed, the lifecycle script that failed. Real sandbox, real npm and node:test.
 */
import path from 'node:path';
import { createRepo } from '../../src/dev/fleet';
import { runExecuteRun, specFor, startExecutionFixture, type ExecutionFixture } from './fixture';

let fixture: ExecutionFixture;

beforeAll(async () => {
  fixture = await startExecutionFixture();
});

afterAll(async () => {
  await fixture?.close();
});

const TESTS = [
  "const test = require('node:test');",
  "const assert = require('node:assert');",
  "const { tally } = require('..');",
  '',
  "test('counts nothing', () => assert.equal(tally([]), 0));",
  "test('counts one', () => assert.equal(tally(['a']), 1));",
  "test('counts repeats', () => assert.equal(tally(['a', 'a']), 2));",
  "test('counts in windows line endings', { skip: 'fixture has none' }, () => {});",
  '',
].join('\n');

/** Like many small libraries: branch master, no lockfile by choice, a pretest lint and a posttest coverage gate. */
const LIBRARY = {
  '.npmrc': 'package-lock=false\n',
  'README.md': '# tally\n\nCounts things.\n',
  'index.js': 'exports.tally = (items) => items.length;\n',
  'test/tally.test.js': TESTS,
  'scripts/coverage-gate.js': "console.error('coverage 71.4% is below the 90% threshold');\nprocess.exit(1);\n",
  'package.json': `${JSON.stringify(
    {
      name: 'tally',
      version: '3.1.0',
      main: 'index.js',
      scripts: {
        pretest: 'node -e "require(\'./index.js\')"',
        test: 'node --test --test-reporter=tap',
        posttest: 'node scripts/coverage-gate.js',
      },
      license: 'MIT',
    },
    null,
    '\t',
  )}\n`,
};

it('names the posttest script that failed after every test passed, with the TAP counts', async () => {
  await createRepo(path.join(fixture.root, 'repos'), 'libs/tally', LIBRARY, { branch: 'master' });
  const url = `${fixture.git.baseUrl}/libs/tally.git`;
  const spec = specFor(
    url,
    [
      {
        recipe: 'replace',
        files: ['README.md'],
        find: 'Counts things.',
        replace: 'Counts things, fast.',
        regex: false,
      },
    ],
    {
      repo: { name: 'libs/tally', url, ref: 'master' },
      verify: { commands: ['npm test'] },
    },
  );
  const { result } = await runExecuteRun(fixture.deps, spec);

  expect(result.verification.verdict).toBe('failed');
  expect(result.verification.commands[0]).toMatchObject({
    command: 'npm test',
    exitCode: 1,
    failedScript: 'posttest',
    tests: { source: 'tap', tests: 4, passed: 3, failed: 0, skipped: 1 },
  });
  expect(result.verification.summary).toBe('`npm test` exited 1 in `posttest` after 3 of 4 tests passed (1 skipped)');
});
