/**
 * `replace`: text or regex replacement across globs. The replacement runs inside the sandbox (a small node
 * program), so a symlink planted by an earlier step can never make the host write outside the workspace.
 */
import type { Step } from '../../contracts';
import { globToRegExp } from '../../text/glob';
import type { Recipe } from '../types';
import { shellQuote } from '../../text/shell';

type ReplaceStep = Extract<Step, { recipe: 'replace' }>;

const PROGRAM = `
const fs = require('fs'), path = require('path');
const { patterns, find, replace, regex } = JSON.parse(process.argv[1]);
const matchers = patterns.map((p) => new RegExp(p));
const needle = regex ? new RegExp(find, 'g') : null;
const changed = [];
(function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const rel = path.relative('/workspace', full);
    if (entry.isDirectory()) { if (entry.name !== '.git' && entry.name !== 'node_modules') walk(full); continue; }
    if (!entry.isFile() || !matchers.some((m) => m.test(rel))) continue;
    const text = fs.readFileSync(full, 'utf8');
    const next = needle ? text.replace(needle, replace) : text.split(find).join(replace);
    if (next !== text) { fs.writeFileSync(full, next); changed.push(rel); }
  }
})('/workspace');
console.log(JSON.stringify(changed));
`;

/** The program's last line lists the files it changed; the output cap may have cut a long list short. */
function describeChanged(output: string): string {
  try {
    const changed = JSON.parse(output.trim().split('\n').at(-1) ?? '[]') as string[];
    return `replaced in ${changed.length} file(s): ${changed.join(', ') || 'none'}`;
  } catch {
    return 'replaced in more files than the output limit lists; the patch shows which';
  }
}

export const replaceRecipe: Recipe<ReplaceStep> = {
  name: 'replace',
  async apply(step, ctx) {
    const args = {
      patterns: step.files.map((g) => globToRegExp(g).source),
      find: step.find,
      replace: step.replace,
      regex: step.regex,
    };
    const result = await ctx.exec(`node -e ${shellQuote(PROGRAM)} ${shellQuote(JSON.stringify(args))}`);
    if (result.exitCode !== 0)
      return { ok: false, detail: `replacement failed: ${result.output.slice(-500)}`, commands: [], results: [result] };
    return { ok: true, detail: describeChanged(result.output), commands: [], results: [result] };
  },
};
