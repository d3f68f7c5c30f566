/** JUnit XML left by verification commands is summarised into the verification report; symlinks are not followed. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectJUnitReports } from '../../activities/execution/junit';

function tree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'junit-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

describe('JUnit reports', () => {
  it('sums the leaf suites of each report the verification left behind', () => {
    const dir = tree({
      'junit.xml':
        '<testsuites tests="5"><testsuite name="a" tests="3" failures="1" errors="0" skipped="1"/><testsuite name="b" tests="2" failures="0" errors="1"/></testsuites>',
      'test-results/unit.xml': '<testsuites tests="4" failures="0" errors="0"></testsuites>',
      'node_modules/dep/junit.xml': '<testsuite tests="99"/>',
      'src/notes.xml': '<testsuite tests="7"/>',
    });
    expect(collectJUnitReports(dir).sort((a, b) => a.file.localeCompare(b.file))).toEqual([
      { file: 'junit.xml', tests: 5, failures: 1, errors: 1, skipped: 1 },
      { file: 'test-results/unit.xml', tests: 4, failures: 0, errors: 0, skipped: 0 },
    ]);
  });

  it('does not follow a report that is a symlink to a host file', () => {
    const dir = tree({});
    fs.symlinkSync('/etc/hostname', path.join(dir, 'junit.xml'));
    expect(collectJUnitReports(dir)).toEqual([]);
  });
});
