/**
 * TAP (13 and 14) in a verifier command's output, counted into tests, passed, failed, skipped and todo.
 * The runner's own summary (`# tests`/`# pass`/`# fail`, printed by tape, node:test and mocha's TAP reporter) wins
 * over counting test points, because it is what the user saw in their terminal; without one, top-level points
 * (column 0: node:test indents subtests) are counted by their `# SKIP`/`# TODO` directives.
 */
import { splitLines } from '../../src/text/lines';

export interface TapCounts {
  tests: number;
  passed: number;
  failed: number;
  skipped: number;
  todo: number;
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
  return streams.reduce((sum, s) => ({
    tests: sum.tests + s.tests,
    passed: sum.passed + s.passed,
    failed: sum.failed + s.failed,
    skipped: sum.skipped + s.skipped,
    todo: sum.todo + s.todo,
  }));
}

function parseStream(output: string): TapCounts | undefined {
  const counted: TapCounts = { tests: 0, passed: 0, failed: 0, skipped: 0, todo: 0 };
  const summary = new Map<string, number>();
  let looksLikeTap = false;
  for (const line of splitLines(output)) {
    if (VERSION.test(line) || PLAN.test(line)) {
      looksLikeTap = true;
      continue;
    }
    const point = POINT.exec(line);
    if (point) {
      looksLikeTap = true;
      countPoint(counted, point[1] === undefined, DIRECTIVE.exec(point[2])?.[1].toUpperCase());
      continue;
    }
    const total = SUMMARY.exec(line);
    if (total) summary.set(total[1], (summary.get(total[1]) ?? 0) + Number(total[2]));
  }
  if (!looksLikeTap) return undefined;
  if (!summary.has('pass') && !summary.has('fail')) return counted;
  const passed = summary.get('pass') ?? 0;
  const failed = (summary.get('fail') ?? 0) + (summary.get('cancelled') ?? 0);
  const skipped = summary.get('skipped') ?? summary.get('skip') ?? counted.skipped;
  // mocha's `# tests` leaves out skipped tests; tape's and node:test's include them.
  const tests = Math.max(summary.get('tests') ?? 0, passed + failed + skipped);
  return { tests, passed, failed, skipped, todo: summary.get('todo') ?? counted.todo };
}

function countPoint(counts: TapCounts, ok: boolean, directive: string | undefined): void {
  counts.tests += 1;
  if (directive === 'SKIP') counts.skipped += 1;
  else if (directive === 'TODO') counts.todo += 1;
  else if (ok) counts.passed += 1;
  else counts.failed += 1;
}
