/**
 * The patch audit: plain functions over the unified diff a run produced, run by the control plane before publishing.
 * It reads text only (no repository code runs) and finds what lets a change pass verification without fixing
 * anything: tests deleted, moved away, skipped or focused, assertions removed or weakened, test configuration that
 * runs less, CI pipeline edits, and lockfile edits in a task that is not a dependency upgrade.
 */
import type { PatchFinding, TaskType } from '../contracts';
import { readDiff, type DiffFile, type DiffLine } from '../patch/parse';

export { describeFindings } from './findings';

/** Test files by the conventions of the ecosystems Regatta serves (JavaScript, Python, Go, JVM, Rust, Ruby). */
const TEST_PATHS = [
  /(^|\/)(test|tests|__tests__|spec|specs|e2e)\//,
  /\.(test|spec)\.[cm]?[jt]sx?$/,
  /(^|\/)(test|tests|spec)\.[cm]?[jt]s$/,
  /_test\.(go|py|rb|exs)$/,
  /(^|\/)test_[^/]+\.py$/,
  /_spec\.rb$/,
  /(Test|Tests|IT)\.(java|kt|scala)$/,
];

const SKIP_MARKERS: [RegExp, string][] = [
  [/\b(it|test|describe|context|suite|specify)\.skip\b/, '.skip'],
  [/\b(xit|xdescribe|xtest|xcontext|xspecify)\s*\(/, 'an x-prefixed test'],
  [/\b(it|test|describe)\.todo\b/, '.todo'],
  [/\bt\.(skip|todo|Skip|SkipNow|Skipf)\s*\(/, 't.skip'],
  [/[{,]\s*(skip|todo)\s*:\s*(true|['"`])/, 'a skip option'],
  [/@(Ignore|Disabled)\b/, '@Ignore/@Disabled'],
  [/\bpytest\.mark\.(skip|skipif|xfail)\b|\bpytest\.skip\s*\(/, 'pytest.mark.skip'],
  [/\bunittest\.skip\w*\b|\bself\.skipTest\s*\(/, 'unittest skip'],
  [/#\[ignore\]/, '#[ignore]'],
];

const FOCUS_MARKERS: [RegExp, string][] = [
  [/\b(it|test|describe|context|suite|specify)\.only\b/, '.only'],
  [/\b(fit|fdescribe|ftest)\s*\(/, 'an f-prefixed test'],
  [/[{,]\s*only\s*:\s*true/, 'an only option'],
];

const ASSERTION =
  /\b(expect|assert\w*|should|require\.(Equal|True|NoError))\b|\.should\b|\bt\.(equal|same|ok|match|throws)\b/;
/** `const assert = require('assert')` names the module, it asserts nothing. */
const IMPORT = /^\s*(import\b|from\s+\S+\s+import\b|(const|let|var)\s+[\w{}\s,]+=\s*require\()/;
/** Assertions that pin a value; trading one for a bare truthiness check passes more than it should. */
const STRONG_ASSERTION =
  /\b(strictEqual|deepStrictEqual|deepEqual|equal|equals|toBe|toEqual|toStrictEqual|toMatchObject|toMatch|toHaveLength|toHaveBeenCalledWith|toThrow|throws|rejects|assertEqual|assertEquals|assertThat|same|match)\s*\(|\bassert\s+[^#\n]*(==|!=|\bin\b|\bis\b)/;
const TAUTOLOGY = [
  /\bassert(\.ok)?\(\s*(true|1|!0)\s*[,)]/,
  /\bexpect\(\s*(true|1)\s*\)\.(toBe|toEqual|toBeTruthy)\(\s*(true|1)?\s*\)/,
  /\bassert\s+True\b/,
  /\bassertTrue\(\s*true\s*\)/,
];

/** Jest's keys that decide which tests it finds; in package.json only these count (`ignore` may be a dependency). */
const JEST_KEYS = /["']?(testPathIgnorePatterns|testMatch|testRegex|roots|modulePathIgnorePatterns)["']?\s*:/;
/** Keys and flags of test runners' own configuration files that decide which tests run; changing them can run fewer. */
const NARROWING_KEYS =
  /(^|["'\s{,])(testPathIgnorePatterns|testMatch|testRegex|roots|modulePathIgnorePatterns|testNamePattern|exclude|ignore|spec|grep|include|testpaths|norecursedirs|addopts|collect_ignore\w*)["']?\s*[:=]|--(ignore|grep|exclude|testPathIgnorePatterns|testNamePattern)\b|\s-k\s/;
const PASS_WITH_NO_TESTS = /--passWithNoTests|--pass-with-no-tests|passWithNoTests\s*:\s*true|--no-tests=pass/;
const TEST_CONFIG_FILES = [
  /(^|\/)(jest|vitest|vite|karma|playwright|cypress|ava|mocha)\.config\.[cm]?[jt]s(on)?$/,
  /(^|\/)\.mocharc(\.[a-z]+)?$/,
  /(^|\/)\.?(jest|ava|tap|c8|nyc)rc(\.[a-z]+)?$/,
  /(^|\/)(pytest\.ini|tox\.ini|setup\.cfg|pyproject\.toml|conftest\.py|phpunit\.xml(\.dist)?)$/,
];

const CI_FILES = [
  /^\.github\/workflows\//,
  /^\.github\/actions\//,
  /(^|\/)\.gitlab-ci\.ya?ml$/,
  /(^|\/)Jenkinsfile$/,
  /^\.circleci\//,
  /^\.buildkite\//,
  /(^|\/)(azure-pipelines|bitbucket-pipelines|\.travis|appveyor|\.drone)\.ya?ml$/,
];

const LOCKFILES =
  /(^|\/)(package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb?|poetry\.lock|Pipfile\.lock|uv\.lock|pdm\.lock|Cargo\.lock|go\.sum|Gemfile\.lock|composer\.lock|gradle\.lockfile|packages\.lock\.json|mix\.lock|pubspec\.lock|Podfile\.lock|flake\.lock)$/;

export function isTestFile(path: string): boolean {
  return TEST_PATHS.some((p) => p.test(path));
}

/** Every finding in `diff`, in file order; `taskType` decides whether lockfile edits were asked for. */
export function auditPatch(diff: string, taskType: TaskType): PatchFinding[] {
  const files = readDiff(diff);
  return [
    ...testsDeletedOrMoved(files),
    ...files.flatMap((file) => {
      const path = file.newPath ?? file.oldPath!;
      return [
        ...(file.newPath && isTestFile(file.newPath) ? markersAdded(file, path) : []),
        ...(file.newPath && file.oldPath && isTestFile(file.newPath) ? assertionsWeakened(file, path) : []),
        ...testConfigNarrowed(file, path),
        ...pipelineAndLockfiles(file, path, taskType),
      ];
    }),
  ];
}

/** A deleted test file, unless one with its name was added under a test path (moved, not removed); a renamed one too. */
function testsDeletedOrMoved(files: DiffFile[]): PatchFinding[] {
  const added = files.filter((f) => f.newPath && !f.oldPath).map((f) => f.newPath!);
  const findings: PatchFinding[] = [];
  for (const file of files) {
    if (!file.oldPath || !isTestFile(file.oldPath)) continue;
    const moves = file.newPath
      ? file.newPath !== file.oldPath
        ? [file.newPath]
        : []
      : added.filter((p) => baseName(p) === baseName(file.oldPath!));
    if (file.newPath && moves.length === 0) continue;
    if (moves.some(isTestFile)) continue;
    findings.push(
      moves.length > 0
        ? {
            kind: 'test_moved',
            file: file.oldPath,
            line: 0,
            reason: `test file moved to ${moves[0]}, outside the test paths, so the runner no longer finds it`,
          }
        : {
            kind: 'test_deleted',
            file: file.oldPath,
            line: 0,
            reason: `test file deleted (${file.removed.filter(isAssertion).length} assertion lines with it)`,
          },
    );
  }
  return findings;
}

/** Skip and focus markers on added lines; a line that only moved (removed the same elsewhere) adds nothing. */
function markersAdded(file: DiffFile, path: string): PatchFinding[] {
  const removed = countTexts(file.removed);
  const findings: PatchFinding[] = [];
  for (const added of file.added) {
    const text = added.text.trim();
    if (removed.get(text)) {
      removed.set(text, removed.get(text)! - 1);
      continue;
    }
    const code = withoutComment(text);
    const skip = SKIP_MARKERS.find(([pattern]) => pattern.test(code));
    if (skip)
      findings.push({ kind: 'test_skipped', file: path, line: added.line, reason: `skip marker added (${skip[1]})` });
    const focus = FOCUS_MARKERS.find(([pattern]) => pattern.test(code));
    if (focus)
      findings.push({
        kind: 'test_focused',
        file: path,
        line: added.line,
        reason: `focus marker added (${focus[1]}): only the focused tests run`,
      });
  }
  return findings;
}

/** Fewer assertion lines than before, fewer that pin a value, or one that cannot fail. */
function assertionsWeakened(file: DiffFile, path: string): PatchFinding[] {
  const removed = file.removed.filter(isAssertion);
  const added = file.added.filter(isAssertion);
  const findings: PatchFinding[] = [];
  if (removed.length > added.length) {
    findings.push({
      kind: 'assertion_removed',
      file: path,
      line: removed[0].line,
      reason: `${removed.length} assertion line(s) removed, ${added.length} added: \`${removed[0].text.trim()}\``,
    });
    return findings;
  }
  const strongRemoved = removed.filter((l) => STRONG_ASSERTION.test(l.text));
  const strongAdded = added.filter((l) => STRONG_ASSERTION.test(l.text));
  if (strongRemoved.length > strongAdded.length) {
    const weaker = added.find((l) => !STRONG_ASSERTION.test(l.text));
    findings.push({
      kind: 'assertion_weakened',
      file: path,
      line: weaker?.line ?? strongRemoved[0].line,
      reason: `\`${strongRemoved[0].text.trim()}\` replaced by a weaker check${weaker ? ` \`${weaker.text.trim()}\`` : ''}`,
    });
  }
  for (const line of added.filter((l) => TAUTOLOGY.some((t) => t.test(l.text)))) {
    findings.push({
      kind: 'assertion_weakened',
      file: path,
      line: line.line,
      reason: `assertion that cannot fail added: \`${line.text.trim()}\``,
    });
  }
  return findings;
}

function testConfigNarrowed(file: DiffFile, path: string): PatchFinding[] {
  const findings: PatchFinding[] = [];
  const passing = file.added.find((l) => PASS_WITH_NO_TESTS.test(l.text));
  if (passing)
    findings.push({
      kind: 'test_config_narrowed',
      file: path,
      line: passing.line,
      reason: `a run that finds no tests now passes: \`${passing.text.trim()}\``,
    });
  if (baseName(path) === 'package.json' && file.oldPath) {
    const before = file.removed.find((l) => /^\s*"test"\s*:/.test(l.text));
    const after = file.added.find((l) => /^\s*"test"\s*:/.test(l.text));
    if (before && scriptValue(before.text) !== (after && scriptValue(after.text)))
      findings.push({
        kind: 'test_config_narrowed',
        file: path,
        line: after?.line ?? before.line,
        reason: after
          ? `the test script changed from \`${scriptValue(before.text)}\` to \`${scriptValue(after.text)}\``
          : `the test script \`${scriptValue(before.text)}\` was removed`,
      });
  }
  const keys = baseName(path) === 'package.json' ? JEST_KEYS : NARROWING_KEYS;
  if (baseName(path) === 'package.json' || TEST_CONFIG_FILES.some((p) => p.test(path))) {
    const key = [...file.added, ...file.removed].find((l) => keys.test(l.text));
    if (key)
      findings.push({
        kind: 'test_config_narrowed',
        file: path,
        line: key.line,
        reason: `changes which tests the runner finds: \`${key.text.trim()}\``,
      });
  }
  return findings;
}

function pipelineAndLockfiles(file: DiffFile, path: string, taskType: TaskType): PatchFinding[] {
  const first = file.added[0]?.line ?? file.removed[0]?.line ?? 0;
  const findings: PatchFinding[] = [];
  if (CI_FILES.some((p) => p.test(path)))
    findings.push({ kind: 'ci_pipeline_changed', file: path, line: first, reason: 'CI pipeline file changed' });
  if (LOCKFILES.test(path) && taskType !== 'dependency_upgrade')
    findings.push({
      kind: 'lockfile_changed',
      file: path,
      line: first,
      reason: `lockfile changed, and the task (${taskType}) is not a dependency upgrade`,
    });
  return findings;
}

/** Test names often say "should"; an assertion is code, so strings are left out of the check. */
function isAssertion(line: DiffLine): boolean {
  if (IMPORT.test(line.text)) return false;
  return ASSERTION.test(withoutComment(line.text).replace(/(['"`])(?:\\.|(?!\1).)*\1/g, "''"));
}

function countTexts(lines: readonly DiffLine[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(l.text.trim(), (counts.get(l.text.trim()) ?? 0) + 1);
  return counts;
}

/** A marker inside a comment is not code; strings stay, since test names rarely hold `.skip(`. */
function withoutComment(text: string): string {
  return text.replace(/^\s*(\/\/|#(?!\[)|\*|\/\*).*$/, '');
}

function scriptValue(line: string): string {
  return /:\s*"((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? line.trim();
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
