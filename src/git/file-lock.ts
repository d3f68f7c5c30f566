/**
 * An exclusive lock between processes on one host: a file created with O_EXCL holding `<host> <pid>`. A lock
 * whose process is gone on this host is taken over, so a crashed clone never blocks a repository for good.
 */
import fs from 'node:fs';
import os from 'node:os';

const POLL_MS = 15;

export interface HeldLock {
  release(): void;
}

export function tryLock(file: string): HeldLock | undefined {
  const owner = `${os.hostname()} ${process.pid}`;
  try {
    fs.writeFileSync(file, owner, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (!isStale(file)) return undefined;
    fs.rmSync(file, { force: true });
    return tryLock(file);
  }
  let held = true;
  return {
    release: () => {
      if (held) fs.rmSync(file, { force: true });
      held = false;
    },
  };
}

export async function lock(file: string, timeoutMs: number): Promise<HeldLock> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const held = tryLock(file);
    if (held) return held;
    if (Date.now() > deadline)
      throw new Error(
        `${file} is still locked by ${readOwner(file)} after ${timeoutMs} ms; remove it if that is wrong`,
      );
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function readOwner(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return 'nobody (released)';
  }
}

function isStale(file: string): boolean {
  const [host, pid] = readOwner(file).split(' ');
  if (host !== os.hostname() || !/^\d+$/.test(pid ?? '')) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
