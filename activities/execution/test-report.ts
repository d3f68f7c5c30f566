/**
 * What a verifier command's output says beyond its exit code: the test counts it printed (TAP, `go test -json`) and, for `npm test`
 * and `npm run x`, the lifecycle script that was running when it failed. npm prints `> pkg@1.0.0 posttest` and
 * `> <command>` before each script it runs, so the last such header before a non-zero exit names the failing one.
 */
import type { VerificationReport } from '../../src/contracts';
import type { CommandResult } from '../../src/sandbox/driver';
import { splitLines } from '../../src/text/lines';
import { ecosystemTestCounts } from '../../src/ecosystems';
import { parseTap } from './tap';

type ReportedCommand = VerificationReport['commands'][number];

/** The optional fields of a reported command that its output gives. */
export function testEvidence(result: CommandResult): Pick<ReportedCommand, 'tests' | 'failedScript'> {
  const tap = parseTap(result.output);
  // Without TAP, an ecosystem's own format (`go test -json`).
  const tests = tap ? { source: 'tap' as const, ...tap } : ecosystemTestCounts(result.output);
  const failedScript = result.exitCode !== 0 ? failedLifecycleScript(result.output) : undefined;
  return { ...(tests ? { tests } : {}), ...(failedScript ? { failedScript } : {}) };
}

interface ScriptHeader {
  script: string;
  command: string;
}

export function failedLifecycleScript(output: string): string | undefined {
  const lines = splitLines(output);
  const headers: ScriptHeader[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    const pair = bannerAt(lines, i);
    const script = pair && scriptOfHeader(pair[0]);
    if (script) headers.push({ script, command: pair[1] });
  }
  // A nested `npm run` that fails says which command failed; that names its script even when others ran after it.
  const failedCommand = lines
    .flatMap((l) => /^npm (?:ERR!|error) command sh -c (.+)$/.exec(l)?.[1].trim() ?? [])
    .at(-1);
  const ranIt = headers.filter((h) => h.command === failedCommand).at(-1);
  return (ranIt ?? headers.at(-1))?.script;
}

const NOTICE = /^npm (?:notice|info) run (.+)$/;

/**
 * The script and command of the banner starting at line i: a blank line, `> pkg@1.0.0 test`, `> <command>`; or, from
 * npm 11 where the banner goes to its log (no terminal, a toolchain's settings), `npm notice run` twice.
 */
function bannerAt(lines: string[], i: number): [string, string] | undefined {
  const [notice, next] = [NOTICE.exec(lines[i]), NOTICE.exec(lines[i + 1])];
  if (notice) {
    // Adjacent banners (a script that printed nothing) pair up in order: script, command, script, command.
    let before = 0;
    while (i - before - 1 >= 0 && NOTICE.test(lines[i - before - 1])) before++;
    return next && before % 2 === 0 ? [notice[1].trim(), next[1].trim()] : undefined;
  }
  if ((i > 0 && lines[i - 1].trim() !== '') || !lines[i].startsWith('> ') || !lines[i + 1].startsWith('> '))
    return undefined;
  return [lines[i].slice(2).trim(), lines[i + 1].slice(2).trim()];
}

/** `pkg@1.0.0 posttest`, `@scope/pkg@1.0.0 test /path` (npm 6 adds the directory) or `test` (a package without name). */
function scriptOfHeader(header: string): string | undefined {
  const words = header.split(/\s+/);
  const script =
    words.length === 1
      ? words[0]
      : words.length === 2 || (words.length === 3 && words[2].startsWith('/'))
        ? words[1]
        : undefined;
  if (words.length > 1 && !words[0].includes('@')) return undefined;
  return script && /^[\w:.-]+$/.test(script) ? script : undefined;
}

/** One line per command, as users read it: "`npm test` exited 1 in `posttest` after 171 of 171 tests passed". */
export function describeCommand(command: ReportedCommand): string {
  const mentioned = command.failedScript !== undefined && command.command.split(/\s+/).includes(command.failedScript);
  const where = command.failedScript && !mentioned ? ` in \`${command.failedScript}\`` : '';
  const head = `\`${command.command}\` ${command.exitCode === 0 ? 'passed' : `exited ${command.exitCode}${where}`}`;
  const tests = command.tests;
  if (!tests) return head;
  const rest = [tests.skipped > 0 ? `${tests.skipped} skipped` : '', tests.todo ? `${tests.todo} todo` : '']
    .filter(Boolean)
    .join(', ');
  const extra = rest ? ` (${rest})` : '';
  if (tests.failed > 0) return `${head}: ${tests.failed} of ${tests.tests} tests failed${extra}`;
  if (command.exitCode !== 0) return `${head} after ${tests.passed} of ${tests.tests} tests passed${extra}`;
  return `${head}: ${tests.passed} of ${tests.tests} tests passed${extra}`;
}

/** The report's summary line: the failing command, or every command that reported tests. */
export function summariseReport(report: VerificationReport): string | undefined {
  if (report.verdict === 'failed') {
    const failed = report.commands.find((c) => c.exitCode !== 0);
    return failed ? describeCommand(failed) : undefined;
  }
  const counted = report.commands.filter((c) => c.tests).map(describeCommand);
  if (counted.length === 0) return undefined;
  return `${report.verdict === 'flaky' ? 'flaky, passed on a second run: ' : ''}${counted.join('; ')}`;
}

export function withSummary(report: VerificationReport): VerificationReport {
  const summary = summariseReport(report);
  return summary ? { ...report, summary } : report;
}
