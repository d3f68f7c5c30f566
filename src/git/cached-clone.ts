/**
 * The execution plane's clone: list the remote's refs, bring the host's mirror of the repository up to date
 * (a depth-1 pack when the mirror is empty, only the new objects when it is not), then check the commit out
 * from the mirror into the working tree. A damaged mirror is dropped and the clone starts again from nothing.
 */
import fs from 'node:fs';
import { checkoutCommit, readCommitTree, UnsafeTreeError } from './checkout';
import { MirrorCache, type Mirror } from './mirror-cache';
import { CorruptPackError, parsePack } from './pack';
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
  request.cache.evict(request.url);
  return result;
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
  if (!commit) return true;
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
  await checkoutCommit({
    dir: request.dir,
    gitdir: request.gitdir,
    url: request.url,
    commit: target.commit,
    branch: target.branch,
    packFiles: mirror.packFiles(),
    read: (oid) => mirror.read(oid),
  });
  mirror.setRef(target.refName, target.commit);
  return { commit: target.commit, objectsFetched };
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
