/** Bare repositories for the clone tests, made with native git (the fixture side only, never a workspace). */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Fixture',
  GIT_AUTHOR_EMAIL: 'fixture@regatta.invalid',
  GIT_COMMITTER_NAME: 'Fixture',
  GIT_COMMITTER_EMAIL: 'fixture@regatta.invalid',
};

export function git(args: string[], cwd?: string, input?: Buffer): string {
  return execFileSync('git', args, { cwd, env: ENV, input, maxBuffer: 64 * 1024 * 1024 })
    .toString('utf8')
    .trim();
}

export type FixtureEntry = string | { content: string; executable: true } | { symlink: string };

/** A bare repository `<root>/<name>.git` with one commit on `branch`, plus its working clone for later pushes. */
export function createFixtureRepo(
  root: string,
  name: string,
  files: Record<string, FixtureEntry>,
  branch = 'trunk',
): { bare: string; work: string } {
  const work = path.join(root, 'work', name);
  const bare = path.join(root, 'repos', `${name}.git`);
  fs.mkdirSync(work, { recursive: true });
  git(['init', '-q', '-b', branch, work]);
  for (const [file, entry] of Object.entries(files)) {
    const full = path.join(work, file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    if (typeof entry === 'string') fs.writeFileSync(full, entry);
    else if ('symlink' in entry) fs.symlinkSync(entry.symlink, full);
    else fs.writeFileSync(full, entry.content, { mode: 0o755 });
  }
  git(['add', '-A'], work);
  git(['commit', '-q', '-m', `Initial ${name}`], work);
  git(['init', '-q', '--bare', '-b', branch, bare]);
  git(['push', '-q', bare, `${branch}:${branch}`], work);
  git(['remote', 'add', 'origin', bare], work);
  return { bare, work };
}

export function pushChange(work: string, file: string, content: string, branch = 'trunk'): string {
  fs.mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
  fs.writeFileSync(path.join(work, file), content);
  git(['add', '-A'], work);
  git(['commit', '-q', '-m', `Change ${file}`], work);
  git(['push', '-q', 'origin', `${branch}:${branch}`], work);
  return git(['rev-parse', 'HEAD'], work);
}

/** Every path in a working tree (outside `.git`) with its kind, mode bits and a digest of its content or target. */
export function snapshotTree(dir: string): string[] {
  const rows: string[] = [];
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      if (!rel && name === '.git') continue;
      const file = path.join(rel, name);
      const full = path.join(dir, file);
      const stat = fs.lstatSync(full);
      if (stat.isSymbolicLink()) rows.push(`${file} symlink -> ${fs.readlinkSync(full)}`);
      else if (stat.isDirectory()) {
        rows.push(`${file}/`);
        walk(file);
      } else {
        const digest = crypto.createHash('sha1').update(fs.readFileSync(full)).digest('hex');
        rows.push(`${file} file ${(stat.mode & 0o777).toString(8)} ${digest}`);
      }
    }
  };
  walk('');
  return rows;
}
