/**
 * uv.lock made through the sandbox's registry route keeps the repository's own addresses. uv writes the index it
 * resolved against into the lock (`source = { registry = … }` and every file's `url`; astral-sh/uv#6349), and in a
 * sandbox that index is the egress proxy's route to the stack's mirror. So the lock is pointed at the route before
 * `uv lock` (so uv reuses every entry it may keep), and after it, on the host, every address is put back: the
 * registry the lock named before, and each file's URL as the host's index lists it, found by file name and accepted
 * only when its sha256 is the one uv locked.
 */
import { normalizeName } from './requirements';

export interface IndexFile {
  url: string;
  sha256?: string;
}

/** The files the host's index lists for a package, by file name. */
export type IndexFiles = (pkg: string) => Promise<Map<string, IndexFile>>;

export class LockAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockAddressError';
  }
}

const REGISTRY_SOURCE = /source = \{ registry = "([^"]+)" \}/g;

/** The registry a lock names (the first `source = { registry = … }`), or undefined for a lock without one. */
export function lockRegistry(lock: string): string | undefined {
  return [...lock.matchAll(REGISTRY_SOURCE)][0]?.[1];
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** The lock with every `registry = "<from>"` naming `to` instead (a trailing slash does not count). */
export function pointLockAt(lock: string, from: string, to: string): string {
  return lock.replace(REGISTRY_SOURCE, (whole, url: string) =>
    trimSlash(url) === trimSlash(from) ? `source = { registry = "${to}" }` : whole,
  );
}

/**
 * Every address under `route` put back: registries to `registry`, file URLs to the host index's URL of the same file
 * with the same sha256. A file the index does not list with that hash is refused, naming it.
 */
export async function restoreLockAddresses(
  lock: string,
  route: string,
  registry: string,
  indexFiles: IndexFiles,
): Promise<string> {
  const base = trimSlash(route);
  const tables = lock.split(/^(?=\[\[package\]\]\s*$)/m);
  const restored: string[] = [];
  for (const table of tables) {
    const name = /^name = "([^"]+)"/m.exec(table)?.[1];
    let text = pointLockAt(table, route, registry);
    const fileUrl = /url = "([^"]+)", hash = "sha256:([0-9a-f]+)"/g;
    const found = [...text.matchAll(fileUrl)].filter((m) => m[1].startsWith(`${base}/`));
    if (found.length > 0) {
      if (!name) throw new LockAddressError(`uv.lock names ${found[0][1]} outside a [[package]] table`);
      const files = await indexFiles(name);
      for (const [whole, url, sha256] of found) {
        const file = decodeURIComponent(url.split('?')[0].split('#')[0].split('/').at(-1) ?? '');
        const listed = files.get(file);
        if (!listed || (listed.sha256 && listed.sha256 !== sha256))
          throw new LockAddressError(
            `uv.lock: ${name}'s ${file} (sha256 ${sha256}) is not listed with that hash by the host's index; its address cannot be put back`,
          );
        text = text.replace(whole, whole.replace(url, listed.url));
      }
    }
    restored.push(text);
  }
  return restored.join('');
}

/** The host index's files of a package, from its PEP 691 JSON page (URLs made absolute against the page). */
export function indexFilesFrom(indexUrl: string, fetchPage: typeof fetch = fetch): IndexFiles {
  const cache = new Map<string, Promise<Map<string, IndexFile>>>();
  return (pkg) => {
    const key = normalizeName(pkg);
    let files = cache.get(key);
    if (!files) {
      const page = `${trimSlash(indexUrl)}/${key}/`;
      files = fetchPage(page, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } }).then(async (answer) => {
        if (!answer.ok) throw new LockAddressError(`the host's index answered ${answer.status} for ${page}`);
        const body = (await answer.json()) as {
          files?: { filename: string; url: string; hashes?: { sha256?: string } }[];
        };
        return new Map(
          (body.files ?? []).map((f) => [f.filename, { url: new URL(f.url, page).href, sha256: f.hashes?.sha256 }]),
        );
      });
      cache.set(key, files);
    }
    return files;
  };
}

/** The version uv.lock records for `pkg` (`[[package]]` tables: name, then version). */
export function lockedVersion(uvLock: string, pkg: string): string | undefined {
  for (const table of uvLock.split(/^\[\[package\]\]\s*$/m).slice(1)) {
    const name = /^name\s*=\s*"([^"]+)"/m.exec(table)?.[1];
    if (name && normalizeName(name) === normalizeName(pkg)) return /^version\s*=\s*"([^"]+)"/m.exec(table)?.[1];
  }
  return undefined;
}
