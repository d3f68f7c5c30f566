/**
 * The execution plane's clone: list the remote's refs, bring the host's mirror of the repository up to date
 * (a depth-1 pack when the mirror is empty, only the new objects when it is not), and put the commit's tree in the
 * working tree: the entry's spare checkout (src/git/pristine.ts), checked while the remote answers, brought to the
 * commit by writing only the files that changed, and renamed into place; or, when there is no usable spare, the tree
 * written from objects. After the clone returns, the entry writes its next spare. A damaged mirror is dropped and the
 * clone starts again from nothing; a tampered spare is never used.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  listCommitTree,
  readCommitTree,
  UnsafeTreeError,
  writeGitDirectory,
  writeTree,
  type CommitTree,
} from './checkout';
import { MirrorCache, type Mirror } from './mirror-cache';
import { CorruptPackError, parsePack, type GitObject } from './pack';
import { PristineMismatchError } from './pristine';
import { discoverRefs, fetchPack, GitRefNotFoundError, type RemoteRefs } from './smart-http';

/** Beyond this many packs a mirror is fetched afresh in one pack rather than read through many. */
const MAX_PACKS = 24;
const SAFE_BRANCH = /^(?!.*(^|\/)\.)(?!.*\.\.)[A-Za-z0-9._\/-]+$/;

export interface CachedCloneRequest {
  url: string;
  ref: string;
  dir: string;
  gitdir: string;
  cache: MirrorCache;
  /** Told as each step of the clone ends, for profiling (bench/clone.ts --profile). */
  onStep?: (step: CloneStep) => void;
}

/** The steps of a clone, in order; `fetch` is skipped when the mirror already holds the commit. */
export type CloneStep = 'lock' | 'open' | 'refs' | 'fetch' | 'tree' | 'checkout' | 'gitdir' | 'unlock';

export interface CachedCloneResult {
  commit: string;
  /** Objects this clone downloaded: 0 when the mirror already had the commit. */
  objectsFetched: number;
}

interface Target {
  commit: string;
  refName: string;
  branch?: string;
}

export async function cloneThroughCache(request: CachedCloneRequest): Promise<CachedCloneResult> {
  const discovery = discoverRefs(request.url);
  discovery.catch(() => undefined); // awaited below; a failure while the lock is awaited is not unhandled
  let objects: Map<string, GitObject> | undefined;
  const result = await request.cache.withMirror(request.url, async (mirror) => {
    request.onStep?.('lock');
    // While the server answers, open the mirror and check the spare (or, without one, decode the last tree).
    const previous = openAndPreload(mirror, request.ref);
    const spare = previous && mirror.spare.commit ? mirror.spare.check() : undefined;
    spare?.catch(() => undefined); // awaited when the spare is taken
    request.onStep?.('open');
    const remote = await discovery;
    request.onStep?.('refs');
    const target = resolveTarget(remote, request.ref, request.url);
    try {
      if (!previous) throw new CorruptPackError('the git cache entry failed its checks');
      return await updateAndCheckout(mirror, remote, target, request, spare);
    } catch (err) {
      if (!(err instanceof CorruptPackError)) throw err;
      await spare?.catch(() => undefined);
      // Never use what failed a check: forget the entry, clear the half-written tree, and clone from nothing.
      mirror.drop();
      for (const dir of [request.dir, request.gitdir]) fs.rmSync(dir, { recursive: true, force: true });
      return updateAndCheckout(mirror, remote, target, request, undefined);
    } finally {
      objects = mirror.verifiedObjects;
    }
  });
  request.onStep?.('unlock');
  refillSpare(request.cache, request.url, result.commit, objects);
  return result;
}

const refills = new Set<Promise<void>>();

/** Resolves once every spare checkout this process is filling is filled (or has given up). */
export async function gitCacheSettled(): Promise<void> {
  while (refills.size) await Promise.all(refills);
}

/**
 * Writes the entry's next spare checkout, of `commit`, from objects (starting from those the clone already verified),
 * then evicts what the cache's bound no longer holds; it starts once the clone has returned to its caller. A failed
 * fill only costs the next clone the writing of its tree.
 */
function refillSpare(cache: MirrorCache, url: string, commit: string, objects?: Map<string, GitObject>): void {
  const refill = new Promise((resolve) => setImmediate(resolve))
    .then(() =>
      cache.withMirror(
        url,
        async (mirror) => {
          fs.rmSync(path.join(mirror.dir, 'pristine'), { recursive: true, force: true }); // what earlier versions kept
          if (!mirror.open() || mirror.spare.commit === commit || !mirror.has(commit)) return;
          const read = (oid: string) => mirror.read(oid);
          await mirror.spare.bringTo(commit, listCommitTree(read, commit), read);
        },
        objects,
      ),
    )
    .then(() => cache.evict(url))
    .catch(() => undefined)
    .finally(() => refills.delete(refill));
  refills.add(refill);
}

/** False when the entry failed a check (it is then dropped); true when it is usable, empty or not. */
function openAndPreload(mirror: Mirror, ref: string): boolean {
  if (!mirror.open()) return false;
  if (mirror.packCount > MAX_PACKS) {
    mirror.drop();
    return true;
  }
  const names = ref.startsWith('refs/') ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`];
  const commit = names.map((name) => mirror.refs[name]).find(Boolean);
  // With a spare only the changed files are read from objects; without one, all are, so read them now.
  if (!commit || mirror.spare.commit) return true;
  try {
    readCommitTree((oid) => mirror.read(oid), commit);
    return true;
  } catch (err) {
    if (err instanceof UnsafeTreeError) return true; // refused before; the checkout will say so again if need be
    if (!(err instanceof CorruptPackError)) throw err;
    return false;
  }
}

async function updateAndCheckout(
  mirror: Mirror,
  remote: RemoteRefs,
  target: Target,
  request: CachedCloneRequest,
  spare: Promise<Map<string, fs.Stats>> | undefined,
): Promise<CachedCloneResult> {
  let objectsFetched = 0;
  if (!mirror.has(target.commit)) {
    const haves = [...new Set(Object.values(mirror.refs))].filter((oid) => mirror.has(oid));
    // With a depth the server ignores haves; without one it sends only what the mirror lacks.
    const { pack, shallow } = await fetchPack(
      request.url,
      remote,
      haves.length ? { wants: [target.commit], haves } : { wants: [target.commit], depth: 1 },
    );
    const parsed = parsePack(pack, `pack from ${request.url}`);
    mirror.addPack(pack, parsed, shallow);
    request.onStep?.('fetch');
    objectsFetched = parsed.objects.length;
  }
  const read = (oid: string) => mirror.read(oid);
  // Listing the tree refuses a hostile one before anything is written, in the cache or in the clone.
  const tree = listCommitTree(read, target.commit);
  request.onStep?.('tree');
  const stats =
    (await takeSpare(mirror, spare, target.commit, tree, request.dir)) ?? (await writeTree(request.dir, read, tree));
  request.onStep?.('checkout');
  const gitDirectory = { gitdir: request.gitdir, url: request.url, commit: target.commit, branch: target.branch };
  writeGitDirectory({ ...gitDirectory, packFiles: mirror.packFiles() }, tree.entries, stats);
  request.onStep?.('gitdir');
  mirror.setRef(target.refName, target.commit);
  return { commit: target.commit, objectsFetched };
}

/**
 * The spare checkout, checked, brought to `commit` and renamed into `dir`; undefined when there is none, it fails its
 * check, or it is too far from `commit` to be worth changing. A spare that is not taken is removed.
 */
async function takeSpare(
  mirror: Mirror,
  checked: Promise<Map<string, fs.Stats>> | undefined,
  commit: string,
  tree: CommitTree,
  dir: string,
): Promise<Map<string, fs.Stats> | undefined> {
  if (!checked) return undefined;
  const { spare } = mirror;
  try {
    const stats = await spare.takeTo(dir, commit, tree, (oid) => mirror.read(oid), await checked);
    if (stats) return stats;
  } catch (err) {
    if (!(err instanceof PristineMismatchError) && !(err as NodeJS.ErrnoException).code) throw err;
  }
  fs.rmSync(spare.dir, { recursive: true, force: true });
  return undefined;
}

/** A branch, `HEAD` (the remote's default branch), a tag or a full ref name, as `git clone --branch` takes. */
function resolveTarget(remote: RemoteRefs, ref: string, url: string): Target {
  const candidates =
    ref === 'HEAD' && remote.headTarget
      ? [remote.headTarget]
      : ref.startsWith('refs/')
        ? [ref]
        : [`refs/heads/${ref}`, `refs/tags/${ref}`];
  if (ref === 'HEAD' && !remote.headTarget) candidates.push('HEAD');
  for (const refName of candidates) {
    const oid = remote.refs.get(`${refName}^{}`) ?? remote.refs.get(refName);
    if (!oid) continue;
    const branchName = refName.startsWith('refs/heads/') ? refName.slice('refs/heads/'.length) : undefined;
    return { commit: oid, refName, branch: branchName && SAFE_BRANCH.test(branchName) ? branchName : undefined };
  }
  throw new GitRefNotFoundError(`${url} has no branch or tag ${JSON.stringify(ref)}`);
}
