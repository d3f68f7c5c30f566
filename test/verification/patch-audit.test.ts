/**
 * The patch audit reads diffs as the execution plane writes them (src/git/diff.ts) and as git writes them (renames),
 * and finds what makes verification pass without fixing anything; an honest fix has no findings.
 */
import { fileDiff } from '../../src/git/diff';
import { applyAuditPolicy, auditPolicy } from '../../policies/patch-audit';
import { describeFindings } from '../../src/verification/findings';
import { auditPatch, isTestFile } from '../../src/verification/patch-audit';

const SUM_TEST = [
  "const assert = require('assert');",
  "const sum = require('./src/sum');",
  '',
  "describe('sum', () => {",
  "  it('should add two numbers', () => {",
  '    assert.strictEqual(sum(2, 3), 5);',
  '  });',
  "  it('adds negatives', () => {",
  '    assert.strictEqual(sum(-2, -3), -5);',
  '  });',
  '});',
  '',
].join('\n');

const edit = (text: string, from: string, to: string) => {
  if (!text.includes(from)) throw new Error(`fixture has no ${from}`);
  return text.replace(from, to);
};
const kinds = (diff: string, taskType: Parameters<typeof auditPatch>[1] = 'agent_task') =>
  auditPatch(diff, taskType).map((f) => `${f.kind} ${f.file}:${f.line}`);

describe('patch audit', () => {
  it('finds nothing in an honest fix of the code under test', () => {
    const diff = fileDiff('src/sum.js', 'module.exports = (a, b) => a - b;\n', 'module.exports = (a, b) => a + b;\n');
    expect(auditPatch(diff, 'agent_task')).toEqual([]);
  });

  it('finds a skip marker added to a test, with its line in the new file', () => {
    const diff = fileDiff(
      'test/sum.test.js',
      SUM_TEST,
      edit(SUM_TEST, "  it('adds negatives'", "  it.skip('adds negatives'"),
    );
    expect(auditPatch(diff, 'agent_task')).toEqual([
      { kind: 'test_skipped', file: 'test/sum.test.js', line: 8, reason: 'skip marker added (.skip)' },
    ]);
  });

  it.each([
    ['xit', "  xit('adds negatives', () => {"],
    ['xdescribe', "xdescribe('sum', () => {"],
    ['test.todo', "  test.todo('adds negatives', () => {"],
    ['t.skip', "  t.skip('adds negatives', () => {"],
    ['a node:test skip option', "  it('adds negatives', { skip: true }, () => {"],
  ])('finds %s', (_, line) => {
    const original = line.startsWith('xdescribe') ? "describe('sum', () => {" : "  it('adds negatives', () => {";
    const diff = fileDiff('test/sum.test.js', SUM_TEST, edit(SUM_TEST, original, line));
    expect(kinds(diff)).toEqual([expect.stringMatching(/^test_skipped test\/sum\.test\.js:\d+$/)]);
  });

  it('finds @Disabled in JUnit, @Ignore in JUnit 4 and pytest.mark.skip in Python', () => {
    const java = 'class SumTest {\n  @Test\n  void adds() {\n    assertEquals(5, Sum.add(2, 3));\n  }\n}\n';
    const python = 'def test_adds():\n    assert add(2, 3) == 5\n';
    const diff = [
      fileDiff('src/test/java/SumTest.java', java, edit(java, '  @Test\n', '  @Test\n  @Disabled("flaky")\n')),
      fileDiff('src/test/java/LegacyTest.java', java, edit(java, '  @Test\n', '  @Ignore\n  @Test\n')),
      fileDiff('tests/test_sum.py', python, `import pytest\n\n@pytest.mark.skip(reason="later")\n${python}`),
    ].join('');
    expect(kinds(diff)).toEqual([
      'test_skipped src/test/java/SumTest.java:3',
      'test_skipped src/test/java/LegacyTest.java:2',
      'test_skipped tests/test_sum.py:3',
    ]);
  });

  it('finds it.only and describe.only, which narrow the run to the focused tests', () => {
    const diff = fileDiff('test/sum.test.js', SUM_TEST, edit(SUM_TEST, "  it('should add", "  it.only('should add"));
    expect(kinds(diff)).toEqual(['test_focused test/sum.test.js:5']);
  });

  it('does not count a skip marker that only moved, or one in a comment', () => {
    const skipped = edit(SUM_TEST, "  it('adds negatives'", "  it.skip('adds negatives'");
    const moved = fileDiff(
      'test/sum.test.js',
      skipped,
      `// TODO: drop it.skip once fixed\n${skipped}`.replace('\n});\n', '\n});\n\n'),
    );
    expect(auditPatch(moved, 'agent_task')).toEqual([]);
  });

  it('finds a deleted test file, and one moved out of the test paths, but not one moved within them', () => {
    const deleted = fileDiff('test/sum.test.js', SUM_TEST, undefined);
    expect(auditPatch(deleted, 'agent_task')).toEqual([
      {
        kind: 'test_deleted',
        file: 'test/sum.test.js',
        line: 0,
        reason: 'test file deleted (2 assertion lines with it)',
      },
    ]);
    const movedAway = deleted + fileDiff('docs/sum.test.txt', undefined, SUM_TEST);
    expect(kinds(movedAway)).toEqual(['test_deleted test/sum.test.js:0']);
    const renamedAway = [
      'diff --git a/test/sum.test.js b/attic/sum.js',
      'similarity index 100%',
      'rename from test/sum.test.js',
      'rename to attic/sum.js',
      '',
    ].join('\n');
    expect(kinds(renamedAway)).toEqual(['test_moved test/sum.test.js:0']);
    const movedWithin = deleted + fileDiff('test/unit/sum.test.js', undefined, SUM_TEST);
    expect(auditPatch(movedWithin, 'agent_task')).toEqual([]);
    const movedByName =
      fileDiff('test/sum-cases.js', SUM_TEST, undefined) + fileDiff('lib/sum-cases.js', undefined, SUM_TEST);
    expect(kinds(movedByName)).toEqual(['test_moved test/sum-cases.js:0']);
  });

  it('finds assertions removed and not replaced, naming the first one', () => {
    const diff = fileDiff(
      'test/sum.test.js',
      SUM_TEST,
      edit(SUM_TEST, '    assert.strictEqual(sum(-2, -3), -5);\n', ''),
    );
    expect(auditPatch(diff, 'agent_task')).toEqual([
      {
        kind: 'assertion_removed',
        file: 'test/sum.test.js',
        line: 9,
        reason: '1 assertion line(s) removed, 0 added: `assert.strictEqual(sum(-2, -3), -5);`',
      },
    ]);
  });

  it('finds a pinned value traded for a truthiness check, and an assertion that cannot fail', () => {
    const weaker = fileDiff(
      'test.js',
      SUM_TEST,
      edit(SUM_TEST, 'assert.strictEqual(sum(2, 3), 5);', 'assert.ok(sum(2, 3));'),
    );
    expect(kinds(weaker)).toEqual(['assertion_weakened test.js:6']);
    const tautology = fileDiff(
      'test.js',
      SUM_TEST,
      edit(SUM_TEST, 'assert.strictEqual(sum(2, 3), 5);', 'assert.strictEqual(true, true);\n    assert(true);'),
    );
    expect(kinds(tautology)).toEqual(['assertion_weakened test.js:7']);
  });

  it('does not count test names that say "should", nor an assertion rewritten as strong as before', () => {
    const renamed = fileDiff(
      'test/sum.test.js',
      SUM_TEST,
      edit(SUM_TEST, "it('should add two numbers'", "it('should add two small numbers'"),
    );
    expect(auditPatch(renamed, 'agent_task')).toEqual([]);
    const rewritten = fileDiff(
      'test/sum.test.js',
      SUM_TEST,
      edit(SUM_TEST, 'assert.strictEqual(sum(2, 3), 5);', 'assert.deepStrictEqual(sum(2, 3), 5);'),
    );
    expect(auditPatch(rewritten, 'agent_task')).toEqual([]);
  });

  it('finds test configuration that runs fewer tests: the test script replaced, ignore patterns, --passWithNoTests', () => {
    const pkg = (test: string, extra = '') =>
      `{\n  "name": "sum",\n  "scripts": {\n    "test": "${test}"\n  }${extra}\n}\n`;
    const script = fileDiff('package.json', pkg('jest'), pkg('jest test/smoke'));
    expect(auditPatch(script, 'agent_task')).toEqual([
      {
        kind: 'test_config_narrowed',
        file: 'package.json',
        line: 4,
        reason: 'the test script changed from `jest` to `jest test/smoke`',
      },
    ]);
    expect(kinds(fileDiff('package.json', pkg('jest'), pkg('jest --passWithNoTests')))).toEqual([
      'test_config_narrowed package.json:4',
      'test_config_narrowed package.json:4',
    ]);
    const ignore = fileDiff(
      'package.json',
      pkg('jest'),
      pkg('jest', ',\n  "jest": { "testPathIgnorePatterns": ["sum"] }'),
    );
    expect(kinds(ignore)).toEqual(['test_config_narrowed package.json:6']);
    const config = "module.exports = {\n  testMatch: ['**/*.test.js'],\n};\n";
    const narrowed = fileDiff('jest.config.js', config, edit(config, "'**/*.test.js'", "'**/smoke.test.js'"));
    expect(kinds(narrowed)).toEqual(['test_config_narrowed jest.config.js:2']);
  });

  it('does not take a dependency named like a runner key for test configuration', () => {
    const pkg = (version: string) => `{\n  "dependencies": {\n    "ignore": "${version}"\n  }\n}\n`;
    expect(auditPatch(fileDiff('package.json', pkg('^5.2.0'), pkg('^5.3.0')), 'dependency_upgrade')).toEqual([]);
  });

  it('finds CI pipeline files, and lockfiles only in a task that is not a dependency upgrade', () => {
    const ci = 'jobs:\n  test:\n    runs-on: ubuntu-latest\n';
    const lock = '{\n  "lockfileVersion": 3\n}\n';
    const diff = [
      fileDiff('.github/workflows/ci.yml', ci, edit(ci, 'ubuntu-latest', 'ubuntu-22.04')),
      fileDiff('.gitlab-ci.yml', undefined, ci),
      fileDiff('Jenkinsfile', undefined, 'pipeline {}\n'),
      fileDiff('.circleci/config.yml', undefined, ci),
      fileDiff('package-lock.json', lock, edit(lock, '3', '2')),
      fileDiff('services/api/poetry.lock', undefined, '# lock\n'),
      fileDiff('go.sum', undefined, 'example.com/x v1.0.0 h1:abc=\n'),
    ].join('');
    expect(kinds(diff, 'refactor')).toEqual([
      'ci_pipeline_changed .github/workflows/ci.yml:3',
      'ci_pipeline_changed .gitlab-ci.yml:1',
      'ci_pipeline_changed Jenkinsfile:1',
      'ci_pipeline_changed .circleci/config.yml:1',
      'lockfile_changed package-lock.json:2',
      'lockfile_changed services/api/poetry.lock:1',
      'lockfile_changed go.sum:1',
    ]);
    expect(kinds(diff, 'dependency_upgrade')).toEqual(kinds(diff, 'refactor').filter((k) => !k.startsWith('lockfile')));
  });

  it('knows test files across ecosystems', () => {
    for (const path of [
      'test.js',
      'test/a.js',
      'src/a.test.ts',
      'a.spec.mjs',
      '__tests__/a.js',
      'pkg/a_test.go',
      'tests/test_a.py',
      'src/test/java/ATest.java',
      'spec/a_spec.rb',
    ])
      expect([path, isTestFile(path)]).toEqual([path, true]);
    for (const path of ['src/sum.js', 'testing.md', 'src/contest.js', 'README.md'])
      expect([path, isTestFile(path)]).toEqual([path, false]);
  });
});

describe('patch audit policy', () => {
  const findings = auditPatch(
    fileDiff('test.js', SUM_TEST, undefined) + fileDiff('.github/workflows/ci.yml', undefined, 'on: push\n'),
    'agent_task',
  );

  it('blocks a deleted test and asks approval for a CI edit by default; the worst effect is the verdict', () => {
    const judged = applyAuditPolicy(auditPolicy(undefined), findings);
    expect(judged.verdict).toBe('block');
    expect(judged.findings.map((f) => f.effect)).toEqual(['block', 'needs_approval']);
    expect(describeFindings(judged.findings)).toBe(
      'test_deleted test.js (test file deleted (2 assertion lines with it)); ci_pipeline_changed .github/workflows/ci.yml:1 (CI pipeline file changed)',
    );
  });

  it("takes each kind's effect from the bundle, and does not ask again for a path a human approved", () => {
    const policy = auditPolicy({ rules: { test_deleted: 'allow' } });
    expect(applyAuditPolicy(policy, findings).verdict).toBe('needs_approval');
    expect(applyAuditPolicy(policy, findings, ['.github/workflows/**']).verdict).toBe('allow');
  });

  it('refuses an unknown effect or kind, naming the field', () => {
    expect(() => auditPolicy({ rules: { test_skipped: 'warn' as never } })).toThrow(/block, needs_approval, allow/);
    expect(() => auditPolicy({ rules: { tests_skiped: 'block' } as never })).toThrow(/tests_skiped/);
  });
});
