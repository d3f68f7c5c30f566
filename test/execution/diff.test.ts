/** The TypeScript diff writer produces patches that git and Regatta's own applier both apply exactly. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileDiff } from '../../src/git/diff';
import { runChecked } from '../../src/host/command';
import { applyFilePatch, parsePatch } from '../../src/patch/apply';

/** A small deterministic generator, so a failing case can be reproduced from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 0x100000000;
  };
}

function randomText(next: () => number): string {
  const words = ['alpha', 'beta', 'gamma', '', '  indented', 'beta', '}', '{'];
  const lines = Array.from({ length: Math.floor(next() * 30) }, () => words[Math.floor(next() * words.length)]);
  const text = lines.join('\n');
  return next() < 0.8 && text !== '' ? `${text}\n` : text;
}

function mutate(text: string, next: () => number): string {
  const lines = text.split('\n');
  for (let edits = Math.floor(next() * 5); edits > 0; edits--) {
    const at = Math.floor(next() * (lines.length + 1));
    const choice = next();
    if (choice < 0.33) lines.splice(at, 1);
    else if (choice < 0.66) lines.splice(at, 0, `inserted ${Math.floor(next() * 100)}`);
    else lines[at] = `changed ${Math.floor(next() * 100)}`;
  }
  return lines.map((line) => line ?? '').join('\n');
}

describe('fileDiff', () => {
  it('round-trips 500 random edits through the patch applier', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const next = random(seed);
      const before = randomText(next);
      const after = mutate(before, next);
      const [file] = parsePatch(fileDiff('f.txt', before, after));
      expect({ seed, applied: applyFilePatch(file, before) }).toEqual({ seed, applied: after });
    }
  });

  it('writes additions, deletions and missing final newlines the way git reads them', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-diff-'));
    try {
      const files: Record<string, [string | undefined, string | undefined]> = {
        'modified.txt': [
          'one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n',
          'one\n2\nthree\nfour\nfive\nsix\nseven\neight\nnine\n10\n',
        ],
        'no-newline.txt': ['a\nb', 'a\nb\nc'],
        'gains-newline.txt': ['a', 'a\n'],
        'added.txt': [undefined, 'new\nfile\n'],
        'deleted.txt': ['going\naway\n', undefined],
        'emptied.txt': ['content\n', ''],
        'dir with space/café.txt': ['x\n', 'y\n'],
      };
      for (const [name, [before]] of Object.entries(files)) {
        if (before === undefined) continue;
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), before);
      }
      await runChecked('git', ['init', '-q', dir]);
      await runChecked('git', ['-C', dir, 'add', '-A']);
      const patch = Object.entries(files)
        .map(([name, [before, after]]) => fileDiff(name, before, after))
        .join('');
      fs.writeFileSync(path.join(dir, '..', `${path.basename(dir)}.diff`), patch);
      await runChecked('git', ['-C', dir, 'apply', '--index', path.join(dir, '..', `${path.basename(dir)}.diff`)]);
      for (const [name, [, after]] of Object.entries(files)) {
        const file = path.join(dir, name);
        expect({ name, content: fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined }).toEqual({
          name,
          content: after,
        });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(`${dir}.diff`, { force: true });
    }
  });
});
