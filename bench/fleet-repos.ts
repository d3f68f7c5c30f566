/**
 * The repositories bench/fleet.ts runs its campaigns over: small Node packages on the stack's local git server, each
 * with a real `npm test` (`node --test` over a few test files; no dependencies, so nothing to install) and a helper,
 * used across source and tests, that the benchmark's replace step renames.
 */
import type { Target } from '../src/contracts';
import { createRepo } from '../src/dev/fleet';
import { readStackInfo } from '../src/dev/stack';

/** The change every benchmark run makes: one rename across source and tests. */
export const BENCH_RENAME = { files: ['src/**/*.js', 'test/**/*.js'], find: 'oldName', replace: 'newName' } as const;

function packageFiles(name: string): Record<string, string> {
  const packageJson = {
    name,
    version: '1.4.2',
    description: `Labels and money formatting for ${name}`,
    license: 'UNLICENSED',
    private: true,
    main: 'src/index.js',
    files: ['src'],
    scripts: { test: 'node --test' },
  };
  return {
    '.gitignore': 'node_modules/\ncoverage/\n',
    'package.json': `${JSON.stringify(packageJson, null, 2)}\n`,
    'README.md': `# ${name}\n\nLabels and money formatting used across ${name}.\n\nRun the tests with \`npm test\`.\n`,
    'src/index.js': [
      "const { oldName } = require('./labels');",
      "const { formatCents, sumCents } = require('./money');",
      '',
      'module.exports = { oldName, formatCents, sumCents };',
      '',
    ].join('\n'),
    'src/labels.js': [
      `/** The label ${name} reports a value under. */`,
      'function oldName(value) {',
      "  if (value === undefined || value === null) throw new TypeError('a label needs a value');",
      `  return \`${name}:\${String(value).trim().toLowerCase()}\`;`,
      '}',
      '',
      'module.exports = { oldName };',
      '',
    ].join('\n'),
    'src/money.js': [
      '/** Cents as a currency string, e.g. 123456 → "1,234.56". */',
      'function formatCents(cents) {',
      "  const sign = cents < 0 ? '-' : '';",
      '  const abs = Math.abs(Math.round(cents));',
      "  const whole = Math.floor(abs / 100).toLocaleString('en-US');",
      "  return `${sign}${whole}.${String(abs % 100).padStart(2, '0')}`;",
      '}',
      '',
      'function sumCents(amounts) {',
      '  return amounts.reduce((total, cents) => total + cents, 0);',
      '}',
      '',
      'module.exports = { formatCents, sumCents };',
      '',
    ].join('\n'),
    'test/labels.test.js': [
      "const test = require('node:test');",
      "const assert = require('node:assert');",
      "const { oldName } = require('../src');",
      '',
      "test('labels a value under the package name', () => {",
      `  assert.strictEqual(oldName(' Invoice '), '${name}:invoice');`,
      '});',
      '',
      "test('refuses to label nothing', () => {",
      '  assert.throws(() => oldName(undefined), TypeError);',
      '});',
      '',
    ].join('\n'),
    'test/money.test.js': [
      "const test = require('node:test');",
      "const assert = require('node:assert');",
      "const { formatCents, sumCents } = require('../src');",
      '',
      "test('formats cents with separators', () => {",
      "  assert.strictEqual(formatCents(123456), '1,234.56');",
      "  assert.strictEqual(formatCents(-5), '-0.05');",
      '});',
      '',
      "test('sums amounts', () => {",
      '  assert.strictEqual(sumCents([100, 250, -50]), 300);',
      '});',
      '',
    ].join('\n'),
  };
}

/** Creates `count` repositories `bench/<prefix>-<i>` on the local git server (kept if they exist) and returns them as targets. */
export async function createBenchRepos(prefix: string, count: number): Promise<Target[]> {
  const stack = readStackInfo();
  const targets: Target[] = [];
  for (let i = 0; i < count; i++) {
    const repo = `bench/${prefix}-${String(i).padStart(3, '0')}`;
    await createRepo(stack.fleetRoot, repo, packageFiles(repo.replace('/', '-')));
    targets.push({ repo, url: `${stack.gitBaseUrl}/${repo}.git`, ref: 'main' });
  }
  return targets;
}
