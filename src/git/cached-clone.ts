/**
 * The execution plane's clone: list the remote's refs, bring the host's mirror of the repository up to date
 * (a depth-1 pack when the mirror is empty, only the new objects when it is not), bring the entry's pristine
 * checkout to the commit (src/git/pristine.ts: only the files that changed are written from objects), and copy it
 * into the working tree. A damaged mirror is dropped and the clone starts again from nothing; a tampered pristine
 * checkout is written again from objects.
 */
import fs from 'node:fs';
import { listCommitTree, readCommitTree, UnsafeTreeError, writeGitDirectory, type CommitTree } from './checkout';
import { MirrorCache, type Mirror } from './mirror-cache';
import { CorruptPackError, parsePack } from './pack';
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
}

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
  const result = await request.cache.withMirror(request.url, async (mirror) => {
    // While the server answers, open the mirror and decode the tree it last checked out for this ref.
    const previous = openAndPreload(mirror, request.ref);
    const remote = await discovery;
    const target = resolveTarget(remote, request.ref, request.url);
    try {
      if (!previous) throw new CorruptPackError('the git cache entry failed its checks');
      return await updateAndCheckout(mirror, remote, target, request);
    } catch (err) {
      if (!(err instanceof CorruptPackError)) throw err;
      // Never use what failed a check: forget the entry, clear the half-written tree, and clone from nothing.
      mirror.drop();
      for (const dir of [request.dir, request.gitdir]) fs.rmSync(dir, { recursive: true, force: true });
      return updateAndCheckout(mirror, remote, target, request);
    }
  });
  // Eviction walks every entry's files; it runs with the refill, after the clone has returned.
  refillSpare(request.cache, request.url);
  return result;
}

const refills = new Set<Promise<void>>();

/** Resolves once every spare checkout this process is filling is filled (or has given up). */
export async function gitCacheSettled(): Promise<void> {
  while (refills.size) await Promise.all(refills);
}

/**
 * Fills the entry's spare checkout from its pristine one, then evicts what the cache's bound no longer holds, after the
 * clone; a failed fill only costs the next clone a copy.
 */
function refillSpare(cache: MirrorCache, url: string): void {
  const refill = cache
    .withMirror(url, async (mirror) => {
      const { pristine, spare } = mirror;
      if (pristine.commit && spare.commit !== pristine.commit) await spare.fillFrom(pristine);
    })
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
  // With a pristine checkout only the changed files are read from objects; without one, all are, so read them now.
  if (!commit || mirror.pristine.commit) return true;
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
    objectsFetched = parsed.objects.length;
  }
  const read = (oid: string) => mirror.read(oid);
  // Listing the tree refuses a hostile one before anything is written, in the cache or in the clone.
  const tree = listCommitTree(read, target.commit);
  const { pristine } = mirror;
  await pristine.bringTo(target.commit, tree, read);
  const stats =
    (await takeSpare(mirror, target.commit, tree, request.dir)) ?? (await copyPristine(mirror, target, tree, request));
  const gitDirectory = { gitdir: request.gitdir, url: request.url, commit: target.commit, branch: target.branch };
  writeGitDirectory({ ...gitDirectory, packFiles: mirror.packFiles() }, tree.entries, stats);
  mirror.setRef(target.refName, target.commit);
  return { commit: target.commit, objectsFetched };
}

/** The spare checkout, brought to `commit` and renamed into `dir`; undefined when there is none or it fails a check. */
async function takeSpare(
  mirror: Mirror,
  commit: string,
  tree: CommitTree,
  dir: string,
): Promise<Map<string, fs.Stats> | undefined> {
  const { spare } = mirror;
  if (!spare.commit) return undefined;
  try {
    await spare.bringTo(commit, tree, (oid) => mirror.read(oid));
    return spare.moveTo(dir, tree);
  } catch (err) {
    if (!(err instanceof PristineMismatchError) && !(err as NodeJS.ErrnoException).code) throw err;
    fs.rmSync(spare.dir, { recursive: true, force: true });
    return undefined;
  }
}

/** A copy of the pristine checkout; one that fails its check is written again from objects first. */
async function copyPristine(
  mirror: Mirror,
  target: Target,
  tree: CommitTree,
  request: CachedCloneRequest,
): Promise<Map<string, fs.Stats>> {
  const { pristine } = mirror;
  try {
    return await pristine.copyTo(request.dir, tree);
  } catch (err) {
    if (!(err instanceof PristineMismatchError)) throw err;
    fs.rmSync(request.dir, { recursive: true, force: true });
    await pristine.rewrite(target.commit, tree, (oid) => mirror.read(oid));
    return pristine.copyTo(request.dir, tree);
  }
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
