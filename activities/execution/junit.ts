/**
 * JUnit XML reports the verification commands left in the workspace, summarised for the VerificationReport.
 * Read on the host as data, after the sandbox has stopped: regular files only, never through a symlink.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestCounts, VerificationReport } from '../../src/contracts';
import { withSummary } from './test-report';

type JUnitSummary = NonNullable<VerificationReport['junit']>[number];

const REPORT_NAME = /^(junit.*|TEST-.*|.*\.junit)\.xml$/i;
const REPORT_DIRS = new Set(['test-results', 'reports', 'junit']);
const SKIP_DIRS = new Set(['node_modules', '.git']);
const MAX_DEPTH = 4;
const MAX_REPORT_BYTES = 2 * 1024 * 1024;

export function collectJUnitReports(tree: string): JUnitSummary[] {
  const summaries: JUnitSummary[] = [];
  const walk = (dir: string, depth: number, inReportDir: boolean) => {
    if (depth > MAX_DEPTH) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && !SKIP_DIRS.has(entry.name))
        walk(full, depth + 1, inReportDir || REPORT_DIRS.has(entry.name));
      else if (entry.isFile() && (REPORT_NAME.test(entry.name) || (inReportDir && entry.name.endsWith('.xml')))) {
        const summary = summarise(full, path.relative(tree, full));
        if (summary) summaries.push(summary);
      }
    }
  };
  walk(tree, 0, false);
  return summaries;
}

function summarise(file: string, relative: string): JUnitSummary | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() || stat.size > MAX_REPORT_BYTES) return undefined;
    const xml = fs.readFileSync(fd, 'utf8');
    // Leaf suites carry the counts; an enclosing <testsuites> may repeat them, so it is read only when alone.
    const suites = [...xml.matchAll(/<testsuite\b([^>]*)>/g)].map((m) => m[1]);
    const tags = suites.length > 0 ? suites : [...xml.matchAll(/<testsuites\b([^>]*)>/g)].map((m) => m[1]);
    if (tags.length === 0) return undefined;
    const count = (name: string) =>
      tags.reduce((sum, attrs) => sum + Number(new RegExp(`\\b${name}="(\\d+)"`).exec(attrs)?.[1] ?? 0), 0);
    const failedTests = failingCases(xml);
    return {
      file: relative,
      tests: count('tests'),
      failures: count('failures'),
      errors: count('errors'),
      skipped: count('skipped'),
      ...(failedTests.length > 0 ? { failedTests } : {}),
    };
  } finally {
    fs.closeSync(fd);
  }
}

/** `classname.name` of every <testcase> holding a <failure> or an <error>. */
function failingCases(xml: string): string[] {
  const cases = xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g);
  return [...cases].flatMap((c) => {
    if (!c[3] || !/<(failure|error)\b/.test(c[3])) return [];
    const attr = (name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(c[1])?.[1];
    const name = attr('name');
    const classname = attr('classname');
    return name ? [classname ? `${classname}.${name}` : name] : [];
  });
}

/** JUnit totals count as the tests of the last command that printed no TAP: XML cannot say which command wrote it. */
export function withJUnitCounts(report: VerificationReport): VerificationReport {
  const junit = report.junit ?? [];
  const last = report.commands.at(-1);
  if (junit.length === 0 || !last || last.tests) return withSummary(report);
  const sum = (key: 'tests' | 'failures' | 'errors' | 'skipped') => junit.reduce((n, j) => n + j[key], 0);
  const failed = sum('failures') + sum('errors');
  const tests: TestCounts = {
    source: 'junit',
    tests: sum('tests'),
    passed: Math.max(0, sum('tests') - failed - sum('skipped')),
    failed,
    skipped: sum('skipped'),
    todo: 0,
  };
  const failedTests = junit.flatMap((j) => j.failedTests ?? []);
  if (failedTests.length > 0) tests.failedTests = failedTests;
  return withSummary({ ...report, commands: [...report.commands.slice(0, -1), { ...last, tests }] });
}
