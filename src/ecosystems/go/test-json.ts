/**
 * `go test -json` output (test2json's events, one JSON object a line) counted into tests run, passed, failed and
 * skipped. Only events with a `Test` count: package-level pass/fail events are not tests. Subtests count as tests, as
 * `go test -v` lists them. Lines that are not JSON (build errors, a `go: downloading` line) are ignored.
 */

export interface GoTestCounts {
  tests: number;
  passed: number;
  failed: number;
  skipped: number;
  /** The failed tests, `package/TestName`, in the order they failed. */
  failedTests: string[];
}

interface TestEvent {
  Action?: string;
  Package?: string;
  Test?: string;
}

export function parseGoTestJson(output: string): GoTestCounts | undefined {
  const outcomes = new Map<string, 'pass' | 'fail' | 'skip'>();
  let sawEvent = false;
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    let event: TestEvent;
    try {
      event = JSON.parse(line) as TestEvent;
    } catch {
      continue;
    }
    if (typeof event.Action !== 'string' || typeof event.Package !== 'string') continue;
    sawEvent = true;
    if (!event.Test || !['pass', 'fail', 'skip'].includes(event.Action)) continue;
    outcomes.set(`${event.Package}/${event.Test}`, event.Action as 'pass' | 'fail' | 'skip');
  }
  if (!sawEvent) return undefined;
  const all = [...outcomes];
  const count = (action: string) => all.filter(([, a]) => a === action).length;
  return {
    tests: all.length,
    passed: count('pass'),
    failed: count('fail'),
    skipped: count('skip'),
    failedTests: all.filter(([, a]) => a === 'fail').map(([name]) => name),
  };
}
