/**
 * The agent's file tools on the host workspace, handled as data: nothing here runs repository code.
 * Files are opened without following a final symlink and checked by descriptor after opening.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  checkWritable,
  ToolDeniedError,
  ToolFailedError,
  workspaceRelative,
  WorkspaceRoot,
  type WriteScope,
} from './workspace-path';

export const MAX_READ_CHARS = 60_000;
export const MAX_WRITE_BYTES = 1_000_000;
const MAX_SEARCHED_FILE_BYTES = 1_000_000;
const MAX_LIST_ENTRIES = 500;
const MAX_SEARCH_MATCHES = 100;
const MAX_MATCH_LINE_CHARS = 200;
/** Directories a recursive walk skips unless asked for by name: huge, and never the change. */
const SKIPPED_DIRECTORIES = new Set(['.git', 'node_modules']);

export interface ReadResult {
  path: string;
  content: string;
  totalLines: number;
  truncated: boolean;
}

export class WorkspaceFiles {
  private readonly root: WorkspaceRoot;

  constructor(
    workspaceDir: string,
    private readonly scope: WriteScope,
  ) {
    this.root = WorkspaceRoot.open(workspaceDir);
  }

  read(requested: string, range: { offset?: number; limit?: number } = {}): ReadResult {
    const relative = workspaceRelative(requested);
    const text = this.readText(relative, requested);
    const lines = text.split('\n');
    const first = (range.offset ?? 1) - 1;
    const selected = lines.slice(first, range.limit ? first + range.limit : undefined).join('\n');
    const truncated = selected.length > MAX_READ_CHARS || first + (range.limit ?? lines.length) < lines.length;
    return { path: relative, content: selected.slice(0, MAX_READ_CHARS), totalLines: lines.length, truncated };
  }

  write(requested: string, content: string): { path: string; created: boolean; bytes: number } {
    const relative = workspaceRelative(requested);
    checkWritable(relative, this.scope);
    const bytes = Buffer.byteLength(content, 'utf8');
    if (bytes > MAX_WRITE_BYTES)
      throw new ToolDeniedError(`content of ${bytes} bytes exceeds the ${MAX_WRITE_BYTES}-byte limit`);
    this.ensureParentDirectory(relative, requested);
    const { fd, created } = this.openForWrite(relative, requested);
    try {
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, content, 0, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
    return { path: relative, created, bytes };
  }

  /** Replaces the one occurrence of `oldText`; zero or several occurrences are refused so an edit never lands twice. */
  edit(requested: string, oldText: string, newText: string): { path: string } {
    const relative = workspaceRelative(requested);
    checkWritable(relative, this.scope);
    const text = this.readText(relative, requested);
    const first = text.indexOf(oldText);
    if (first < 0)
      throw new ToolFailedError(`old_text was not found in ${relative}; read the file and copy the text exactly`);
    if (text.indexOf(oldText, first + 1) >= 0)
      throw new ToolFailedError(`old_text occurs more than once in ${relative}; include more surrounding lines`);
    this.write(relative, text.slice(0, first) + newText + text.slice(first + oldText.length));
    return { path: relative };
  }

  list(requested: string, recursive: boolean): { entries: string[]; truncated: boolean } {
    const relative = workspaceRelative(requested);
    const start = this.directory(relative, requested);
    const entries: string[] = [];
    const walk = (dirRelative: string, dirReal: string): boolean => {
      for (const entry of fs
        .readdirSync(dirReal, { withFileTypes: true })
        .sort((a, b) => a.name.localeCompare(b.name))) {
        if (entry.name === '.git') continue;
        const childRelative = dirRelative === '.' ? entry.name : `${dirRelative}/${entry.name}`;
        if (entries.length >= MAX_LIST_ENTRIES) return false;
        entries.push(
          entry.isSymbolicLink()
            ? `${childRelative} (symlink)`
            : entry.isDirectory()
              ? `${childRelative}/`
              : childRelative,
        );
        if (recursive && entry.isDirectory() && !SKIPPED_DIRECTORIES.has(entry.name)) {
          if (!walk(childRelative, path.join(dirReal, entry.name))) return false;
        }
      }
      return true;
    };
    const complete = walk(start.relative, start.real);
    return { entries, truncated: !complete };
  }

  /** Literal (not regex) search, so a pattern from the model cannot make the worker spin. */
  search(needle: string, requested: string, ignoreCase: boolean): { matches: string[]; truncated: boolean } {
    const relative = workspaceRelative(requested);
    const start = this.directory(relative, requested);
    const wanted = ignoreCase ? needle.toLowerCase() : needle;
    const matches: string[] = [];
    const searchFile = (fileRelative: string): boolean => {
      const text = this.readTextIfSmall(fileRelative);
      if (text === undefined) return true;
      const lines = text.split('\n');
      for (let i = 0; i < lines.length; i++) {
        const line = ignoreCase ? lines[i].toLowerCase() : lines[i];
        if (!line.includes(wanted)) continue;
        if (matches.length >= MAX_SEARCH_MATCHES) return false;
        matches.push(`${fileRelative}:${i + 1}: ${lines[i].trim().slice(0, MAX_MATCH_LINE_CHARS)}`);
      }
      return true;
    };
    const walk = (dirRelative: string, dirReal: string): boolean => {
      for (const entry of fs
        .readdirSync(dirReal, { withFileTypes: true })
        .sort((a, b) => a.name.localeCompare(b.name))) {
        const childRelative = dirRelative === '.' ? entry.name : `${dirRelative}/${entry.name}`;
        if (entry.isDirectory() && !SKIPPED_DIRECTORIES.has(entry.name)) {
          if (!walk(childRelative, path.join(dirReal, entry.name))) return false;
        } else if (entry.isFile() && !searchFile(childRelative)) return false;
      }
      return true;
    };
    const complete = walk(start.relative, start.real);
    return { matches, truncated: !complete };
  }

  private directory(relative: string, requested: string): { relative: string; real: string } {
    const resolved = this.resolveOrFail(relative, requested);
    if (!fs.statSync(resolved.real).isDirectory()) throw new ToolFailedError(`${relative} is not a directory`);
    return resolved;
  }

  private resolveOrFail(relative: string, requested: string): { real: string; relative: string } {
    try {
      return this.root.resolveExisting(relative, requested);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ToolFailedError(`${relative} does not exist`);
      throw err;
    }
  }

  private readText(relative: string, requested: string): string {
    const fd = this.openForRead(relative, requested);
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw new ToolFailedError(`${relative} is not a regular file`);
      const bytes = fs.readFileSync(fd);
      if (bytes.subarray(0, 8000).includes(0)) throw new ToolFailedError(`${relative} is a binary file`);
      return bytes.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  }

  private readTextIfSmall(relative: string): string | undefined {
    try {
      const fd = this.openForRead(relative, relative);
      try {
        const stat = fs.fstatSync(fd);
        if (!stat.isFile() || stat.size > MAX_SEARCHED_FILE_BYTES) return undefined;
        const bytes = fs.readFileSync(fd);
        return bytes.subarray(0, 8000).includes(0) ? undefined : bytes.toString('utf8');
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return undefined;
    }
  }

  /** A symlink is read only when it resolves inside the workspace; the opened descriptor is checked either way. */
  private openForRead(relative: string, requested: string): number {
    const flags = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
    let fd: number;
    try {
      fd = fs.openSync(this.root.absolute(relative), flags);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOOP')
        throw openError(err as NodeJS.ErrnoException, relative, requested);
      const target = this.resolveOrFail(relative, requested);
      try {
        fd = fs.openSync(target.real, flags);
      } catch (again) {
        throw openError(again as NodeJS.ErrnoException, relative, requested);
      }
    }
    try {
      this.root.relativeOfDescriptor(fd, requested);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    return fd;
  }

  /** Opens without truncating, then checks where the descriptor landed, before a single byte is written. */
  private openForWrite(relative: string, requested: string): { fd: number; created: boolean } {
    const absolute = this.root.absolute(relative);
    const flags = fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
    let fd: number;
    let created = false;
    try {
      fd = fs.openSync(absolute, flags | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw openError(err as NodeJS.ErrnoException, relative, requested);
      try {
        fd = fs.openSync(absolute, flags);
      } catch (again) {
        throw openError(again as NodeJS.ErrnoException, relative, requested);
      }
    }
    try {
      const real = this.root.relativeOfDescriptor(fd, requested);
      checkWritable(real, this.scope);
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw new ToolDeniedError(`${relative} is not a regular file`);
      if (stat.nlink > 1) throw new ToolDeniedError(`${relative} is a hard link; writing it could change another file`);
      if (created) this.giveToWorkspaceOwner(fd);
      return { fd, created };
    } catch (err) {
      fs.closeSync(fd);
      if (created) fs.rmSync(absolute, { force: true });
      throw err;
    }
  }

  /** Creates missing parent directories, after checking that the deepest existing one resolves inside the workspace. */
  private ensureParentDirectory(relative: string, requested: string): void {
    const segments = relative.split('/').slice(0, -1);
    let existing = segments.length;
    while (existing > 0 && !fs.existsSync(this.root.absolute(segments.slice(0, existing).join('/')))) existing--;
    const base = this.root.resolveExisting(segments.slice(0, existing).join('/') || '.', requested);
    if (!fs.statSync(base.real).isDirectory()) throw new ToolFailedError(`${base.relative} is not a directory`);
    checkWritable(
      [base.relative === '.' ? '' : base.relative, ...segments.slice(existing), path.posix.basename(relative)]
        .filter(Boolean)
        .join('/'),
      this.scope,
    );
    let current = base.real;
    for (const segment of segments.slice(existing)) {
      current = path.join(current, segment);
      fs.mkdirSync(current);
      this.giveToWorkspaceOwner(current);
    }
  }

  /** A root worker writes files the unprivileged sandbox user must still be able to change. */
  private giveToWorkspaceOwner(target: number | string): void {
    if (process.getuid?.() !== 0) return;
    const owner = fs.statSync(this.root.real);
    if (typeof target === 'number') fs.fchownSync(target, owner.uid, owner.gid);
    else fs.lchownSync(target, owner.uid, owner.gid);
  }
}

function openError(err: NodeJS.ErrnoException, relative: string, requested: string): Error {
  if (err.code === 'ELOOP')
    return new ToolDeniedError(`path ${JSON.stringify(requested)} is a symlink; the agent edits files, not links`);
  if (err.code === 'ENOENT') return new ToolFailedError(`${relative} does not exist`);
  if (err.code === 'EISDIR') return new ToolFailedError(`${relative} is a directory`);
  if (err.code === 'ENOTDIR') return new ToolFailedError(`a parent of ${relative} is not a directory`);
  return err;
}
