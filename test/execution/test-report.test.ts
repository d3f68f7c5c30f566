/**
 * Verifier output read as users read it: TAP counts from tape, node:test and mocha (captured from real runs, in
 * fixtures/test-output), and the npm lifecycle script that failed (npm 9 in the sandbox image, npm 11 on a host).
 */
import fs from 'node:fs';
import path from 'node:path';
import { withJUnitCounts } from '../../activities/execution/junit';
import { parseTap } from '../../activities/execution/tap';
import { describeCommand, failedLifecycleScript, testEvidence } from '../../activities/execution/test-report';
import { verify } from '../../activities/execution/verify';
import type { CommandResult } from '../../src/sandbox/driver';

const captured = (name: string) => fs.readFileSync(path.join(__dirname, 'fixtures', 'test-output', name), 'utf8');

function result(command: string, exitCode: number, output: string): CommandResult {
  return {
    command,
    exitCode,
    output,
    outputBytes: output.length,
    outputTruncated: false,
    timedOut: false,
    durationMs: 1200,
  };
}

describe('TAP counts', () => {
  it("takes tape's own summary, with its failing assertion and its TODO", () => {
    expect(parseTap(captured('tape-mixed.tap'))).toEqual({
      tests: 5,
      passed: 4,
      failed: 1,
      skipped: 0,
      todo: 1,
      failedTests: ['letters match'],
    });
  });

  it('takes the node:test summary, counting subtests, skips and todos (node 18 default reporter and node 20 --test-reporter=tap)', () => {
    for (const file of ['node18-test.tap', 'node20-test-reporter-tap.tap']) {
      expect(parseTap(captured(file))).toEqual({
        tests: 6,
        passed: 2,
        failed: 2,
        skipped: 1,
        todo: 1,
        failedTests: ['suite'],
      });
    }
  });

  it("counts mocha's skipped tests, which its own `# tests` leaves out", () => {
    expect(parseTap(captured('mocha-reporter-tap.tap'))).toEqual({
      tests: 3,
      passed: 1,
      failed: 1,
      skipped: 1,
      todo: 0,
      failedTests: ['math fails'],
    });
  });

  it('counts top-level test points by their directives when the runner prints no summary', () => {
    const tap = [
      'TAP version 14',
      '1..5',
      'ok 1 - parses',
      'not ok 2 - formats',
      '    ok 1 - a subtest is not counted twice',
      'ok 3 - windows paths # SKIP not on linux',
      'not ok 4 - streaming # TODO',
      'ok 5',
    ].join('\n');
    expect(parseTap(tap)).toEqual({ tests: 5, passed: 2, failed: 1, skipped: 1, todo: 1, failedTests: ['formats'] });
  });

  it('adds up the summaries of several suites run by one command', () => {
    const twice = `${captured('tape-mixed.tap')}\n${captured('node20-test-reporter-tap.tap')}`;
    expect(parseTap(twice)).toEqual({
      tests: 11,
      passed: 6,
      failed: 3,
      skipped: 1,
      todo: 2,
      failedTests: ['letters match', 'suite'],
    });
  });

  it('finds no TAP in output that only happens to start a line with "ok"', () => {
    expect(parseTap('building…\nok, 3 files written\nokay\n')).toBeUndefined();
  });
});

describe('the failing lifecycle script', () => {
  it('is the last script npm announced before the non-zero exit: posttest, after every test passed', () => {
    for (const file of ['npm9-posttest-fails.txt', 'npm11-posttest-fails.txt']) {
      const evidence = testEvidence(result('npm test', 1, captured(file)));
      expect(evidence).toEqual({
        tests: { source: 'tap', tests: 12, passed: 12, failed: 0, skipped: 0, todo: 0 },
        failedScript: 'posttest',
      });
    }
  });

  it('reads the banners npm 11 logs as `npm notice run` when it has no terminal (Node.js 24 in the sandbox)', () => {
    const evidence = testEvidence(result('npm test', 1, captured('npm11-notice-posttest-fails.txt')));
    expect(evidence).toEqual({
      tests: { source: 'tap', tests: 4, passed: 3, failed: 0, skipped: 1, todo: 0 },
      failedScript: 'posttest',
    });
  });

  it('is a nested `npm run` script when that is the one that failed', () => {
    expect(failedLifecycleScript(captured('npm9-nested-run-fails.txt'))).toBe('lint');
  });

  it('is the script a failing `npm ERR! command` line names, even when npm announced another after it', () => {
    const output = [
      '',
      '> app@1.0.0 test',
      '> npm run unit && npm run e2e',
      '',
      '',
      '> app@1.0.0 unit',
      '> jest',
      '',
      'npm ERR! code 1',
      'npm ERR! command sh -c jest',
      '',
      '> app@1.0.0 cleanup',
      '> rm -rf tmp',
      '',
    ].join('\n');
    expect(failedLifecycleScript(output)).toBe('unit');
  });

  it('reads the npm 6 header, which ends with the package directory', () => {
    expect(failedLifecycleScript('\n> @acme/widget@2.1.0 pretest /workspace\n> eslint .\n\n1 problem\n')).toBe(
      'pretest',
    );
  });

  it('is not looked for when the command succeeded, nor in output that is not npm', () => {
    expect(testEvidence(result('npm test', 0, captured('npm9-posttest-fails.txt'))).failedScript).toBeUndefined();
    expect(failedLifecycleScript('> quoted mail\n> more quoted mail\n')).toBeUndefined();
  });
});

describe('the report summary', () => {
  it('says which script failed after how many tests passed', async () => {
    const report = await verify(
      { commands: ['npm ci', 'npm test'] },
      async (command) =>
        command === 'npm ci'
          ? result(command, 0, 'added 12 packages')
          : result(command, 1, captured('npm9-posttest-fails.txt')),
      () => undefined,
    );
    expect(report.summary).toBe('`npm test` exited 1 in `posttest` after 12 of 12 tests passed');
    expect(report.commands[1]).toMatchObject({ failedScript: 'posttest', tests: { tests: 12, passed: 12 } });
  });

  it('says how many tests failed when the test script itself failed, without naming the script the command names', () => {
    const line = describeCommand({
      command: 'npm test',
      exitCode: 1,
      durationMs: 1,
      output: '',
      outputTruncated: false,
      ...testEvidence(result('npm test', 1, captured('npm9-test-fails.txt'))),
    });
    expect(line).toBe('`npm test` exited 1: 1 of 5 tests failed (1 todo)');
  });

  it('counts JUnit XML as the tests of the last command that printed no TAP', () => {
    const report = withJUnitCounts({
      verdict: 'passed',
      commands: [{ command: 'npx jest --ci', exitCode: 0, durationMs: 1, output: '', outputTruncated: false }],
      junit: [{ file: 'junit.xml', tests: 40, failures: 0, errors: 0, skipped: 2 }],
    });
    expect(report.summary).toBe('`npx jest --ci` passed: 38 of 40 tests passed (2 skipped)');
  });
});
