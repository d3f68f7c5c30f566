/**
 * TAP (13 and 14) in a verifier command's output, counted into tests, passed, failed, skipped and todo.
 * The runner's own summary (`# tests`/`# pass`/`# fail`, printed by tape, node:test and mocha's TAP reporter) wins
 * over counting test points, because it is what the user saw in their terminal; without one, top-level points
 * (column 0: node:test indents subtests) are counted by their `# SKIP`/`# TODO` directives. Failing top-level points are
 * named by their description, so a baseline can tell a failure the base already had from a new one.
 */
import { splitLines } from '../../src/text/lines';

export interface TapCounts {
  tests: number;
  passed: number;
  failed: number;
  skipped: number;
  todo: number;
  /** The descriptions of the failing top-level points (absent when none failed or none is described). */
  failedTests?: string[];
}

const VERSION = /^TAP version 1[34]\s*$/;
const PLAN = /^1\.\.(\d+)(\s*#.*)?$/;
// `ok`/`not ok` at column 0, then nothing, a space or a number: "ok, done" from some log is not a test point.
const POINT = /^(not )?ok(?=\s|$)(.*)$/;
const DIRECTIVE = /(?:^|[^\\])#\s*(SKIP|TODO)/i;
const SUMMARY = /^# (tests|pass|fail|skip|skipped|todo|cancelled)\s+(\d+)\s*$/;

export function parseTap(output: string): TapCounts | undefined {
  // Each `TAP version` line starts a stream: a command that runs several suites prints several, and they add up.
  const streams = output
    .split(/^(?=TAP version 1[34]\s*$)/m)
    .map(parseStream)
    .filter((s) => s !== undefined);
  if (streams.length === 0) return undefined;
  const sum = streams.reduce((total, s) => ({
    tests: total.tests + s.tests,
    passed: total.passed + s.passed,
    failed: total.failed + s.failed,
    skipped: total.skipped + s.skipped,
    todo: total.todo + s.todo,
  }));
  const failedTests = streams.flatMap((s) => s.failedTests ?? []);
  return failedTests.length > 0 ? { ...sum, failedTests } : sum;
}

function parseStream(output: string): TapCounts | undefined {
  const counted: TapCounts = { tests: 0, passed: 0, failed: 0, skipped: 0, todo: 0 };
  const summary = new Map<string, number>();
  const failedTests: string[] = [];
  let looksLikeTap = false;
  for (const line of splitLines(output)) {
    if (VERSION.test(line) || PLAN.test(line)) {
      looksLikeTap = true;
      continue;
    }
    const point = POINT.exec(line);
    if (point) {
      looksLikeTap = true;
      const directive = DIRECTIVE.exec(point[2])?.[1].toUpperCase();
      countPoint(counted, point[1] === undefined, directive);
      const name = point[1] !== undefined && !directive ? describedPoint(point[2]) : undefined;
      if (name) failedTests.push(name);
      continue;
    }
    const total = SUMMARY.exec(line);
    if (total) summary.set(total[1], (summary.get(total[1]) ?? 0) + Number(total[2]));
  }
  if (!looksLikeTap) return undefined;
  const named = failedTests.length > 0 ? { failedTests } : {};
  if (!summary.has('pass') && !summary.has('fail')) return { ...counted, ...named };
  const passed = summary.get('pass') ?? 0;
  const failed = (summary.get('fail') ?? 0) + (summary.get('cancelled') ?? 0);
  const skipped = summary.get('skipped') ?? summary.get('skip') ?? counted.skipped;
  // mocha's `# tests` leaves out skipped tests; tape's and node:test's include them.
  const tests = Math.max(summary.get('tests') ?? 0, passed + failed + skipped);
  return { tests, passed, failed, skipped, todo: summary.get('todo') ?? counted.todo, ...named };
}

/** `ok 3 - adds two numbers # comment` → `adds two numbers`; undefined for a point without a description. */
function describedPoint(rest: string): string | undefined {
  const name = rest
    .replace(/^\s*\d*\s*(-\s*)?/, '')
    .replace(/\s#.*$/, '')
    .trim();
  return name || undefined;
}

function countPoint(counts: TapCounts, ok: boolean, directive: string | undefined): void {
  counts.tests += 1;
  if (directive === 'SKIP') counts.skipped += 1;
  else if (directive === 'TODO') counts.todo += 1;
  else if (ok) counts.passed += 1;
  else counts.failed += 1;
}
