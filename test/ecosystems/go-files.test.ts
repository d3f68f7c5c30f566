/** go.mod as data, the Go release a repository gets, and `go test -json` counted as a verification report counts it. */
import { parseGoMod, requiredVersion } from '../../src/ecosystems/go/go-mod';
import { proxyFromGoproxy } from '../../src/ecosystems/go/registry';
import { parseGoTestJson } from '../../src/ecosystems/go/test-json';
import { chooseGoVersion, GoToolchainError } from '../../src/ecosystems/go/toolchain';
import { testEvidence } from '../../activities/execution/test-report';
import { Step } from '../../src/contracts';

const GO_MOD = [
  'module example.com/acme/inventory // the inventory service',
  '',
  'go 1.26',
  '',
  'toolchain go1.27.3',
  '',
  'require github.com/google/uuid v1.4.0',
  '',
  'require (',
  '\tgolang.org/x/text v0.14.0',
  '\t"github.com/pkg/errors" v0.9.1 // indirect',
  ')',
  '',
  'replace example.com/old => ./old',
  '',
].join('\n');

describe('go.mod', () => {
  it('reads the module, the go and toolchain lines, and single and block requires with their indirect marks', () => {
    expect(parseGoMod(GO_MOD)).toEqual({
      module: 'example.com/acme/inventory',
      go: '1.26',
      toolchain: '1.27.3',
      requires: [
        { module: 'github.com/google/uuid', version: 'v1.4.0', indirect: false },
        { module: 'golang.org/x/text', version: 'v0.14.0', indirect: false },
        { module: 'github.com/pkg/errors', version: 'v0.9.1', indirect: true },
      ],
    });
  });

  it('says which version a module is required at, and nothing for a module that is only replaced', () => {
    const mod = parseGoMod(GO_MOD);
    expect(requiredVersion(mod, 'golang.org/x/text')).toBe('v0.14.0');
    expect(requiredVersion(mod, 'example.com/old')).toBeUndefined();
  });
});

describe('the Go release a repository gets', () => {
  it('is the toolchain line exactly', () => {
    expect(chooseGoVersion(parseGoMod('go 1.26\ntoolchain go1.27.3\n'), '1.26.8')).toEqual({
      version: '1.27.3',
      source: 'go.mod toolchain',
      declared: 'go1.27.3',
    });
  });

  it("is the host's Go when it is at least the go line, else the go line's release", () => {
    expect(chooseGoVersion(parseGoMod('go 1.22\n'), '1.26.8')).toMatchObject({ version: '1.26.8', source: 'host' });
    expect(chooseGoVersion(parseGoMod('go 1.27.3\n'), '1.26.8')).toMatchObject({
      version: '1.27.3',
      source: 'go.mod go',
    });
  });

  it('is refused, saying what to add, when the go line is newer than the host and names no release', () => {
    expect(() => chooseGoVersion(parseGoMod('go 1.28\n'), '1.26.8')).toThrow(GoToolchainError);
    expect(() => chooseGoVersion(parseGoMod('go 1.28\n'), '1.26.8')).toThrow(/add a toolchain line/);
  });
});

it('takes the first URL of a GOPROXY list as the upstream, never direct or off', () => {
  expect(proxyFromGoproxy('https://goproxy.example.test/mod|https://other.test,direct')).toBe(
    'https://goproxy.example.test/mod',
  );
  expect(proxyFromGoproxy('direct')).toBeUndefined();
  expect(proxyFromGoproxy('off')).toBeUndefined();
});

describe('go test -json', () => {
  const event = (action: string, test?: string, pkg = 'example.com/acme/inventory') =>
    JSON.stringify({ Time: '2026-12-06T02:23:23Z', Action: action, Package: pkg, ...(test ? { Test: test } : {}) });
  const output = [
    'go: downloading github.com/google/uuid v1.5.0',
    event('start'),
    event('run', 'TestA'),
    event('pass', 'TestA'),
    event('run', 'TestB'),
    event('run', 'TestB/sub'),
    event('fail', 'TestB/sub'),
    event('fail', 'TestB'),
    event('run', 'TestC'),
    event('skip', 'TestC'),
    event('fail'),
    event('pass', 'TestD', 'example.com/acme/inventory/store'),
  ].join('\n');

  it('counts tests and subtests run, passed, failed and skipped, and names the failed ones', () => {
    expect(parseGoTestJson(output)).toEqual({
      tests: 5,
      passed: 2,
      failed: 2,
      skipped: 1,
      failedTests: ['example.com/acme/inventory/TestB/sub', 'example.com/acme/inventory/TestB'],
    });
  });

  it('is not read from output without test2json events', () => {
    expect(parseGoTestJson('ok  \texample.com/acme/inventory\t0.005s\n')).toBeUndefined();
  });

  it("becomes a verifier command's test counts", () => {
    const result = {
      command: 'go test -json ./...',
      exitCode: 1,
      output,
      outputBytes: output.length,
      outputTruncated: false,
      timedOut: false,
      durationMs: 10,
    };
    expect(testEvidence(result).tests).toEqual({
      source: 'go-test-json',
      tests: 5,
      passed: 2,
      failed: 2,
      skipped: 1,
      failedTests: ['example.com/acme/inventory/TestB/sub', 'example.com/acme/inventory/TestB'],
    });
  });
});

it('refuses a go-upgrade step whose module is not a Go module path, naming the field', () => {
  const parsed = Step.safeParse({ recipe: 'go-upgrade', module: 'uuid', version: 'v1.5.0' });
  expect(parsed.success).toBe(false);
  expect(parsed.error!.issues[0]).toMatchObject({
    path: ['module'],
    message: 'expected a Go module path such as github.com/google/uuid',
  });
});
