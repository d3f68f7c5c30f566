/**
 * Lists too long for a workflow's payloads travel by reference: stored in pages of PAGE_SIZE items in the artifact
 * store, each read back and checked against the digest and count it was stored with. A campaign's targets (50,000 are
 * ~5 MB; Temporal refuses payloads over 2 MB) and a large campaign's published changes go this way.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Target, TrackedChange, type ArtifactRef, type TargetPageRef } from '../contracts';
import { parseContract } from '../contracts/validate';
import type { ArtifactStore } from './store';

export const PAGE_SIZE = 500;
export type PageRef = TargetPageRef;

async function storePage<T>(
  store: ArtifactStore,
  key: string,
  items: readonly T[],
  type: ArtifactRef['type'],
): Promise<PageRef> {
  // A Buffer is stored as is: these lists are not logs, and redaction must not alter a repository's URL.
  const stored = await store.put(key, Buffer.from(JSON.stringify(items)), type);
  return { uri: stored.uri, sha256: stored.sha256, count: items.length };
}

async function readPage<S extends z.ZodType>(
  store: ArtifactStore,
  ref: PageRef,
  item: S,
  what: string,
): Promise<z.infer<S>[]> {
  const bytes = await store.get(ref.uri);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== ref.sha256)
    throw new Error(
      `${what} page ${ref.uri} has sha256 ${sha256}, expected ${ref.sha256}; it was changed after it was stored`,
    );
  const items = parseContract(z.array(item), JSON.parse(bytes.toString('utf8')), `${what} page ${ref.uri}`);
  if (items.length !== ref.count)
    throw new Error(`${what} page ${ref.uri} holds ${items.length} entries, expected ${ref.count}`);
  return items;
}

/** Stores every page of targets after the first; the first travels inline in the spec. */
export async function storeTargetPages(
  store: ArtifactStore,
  campaignId: string,
  specHash: string,
  targets: readonly Target[],
): Promise<PageRef[]> {
  const refs: PageRef[] = [];
  for (let start = PAGE_SIZE, page = 1; start < targets.length; start += PAGE_SIZE, page++) {
    const key = `campaigns/${campaignId}/targets/${specHash.slice(0, 16)}/page-${String(page).padStart(4, '0')}.json`;
    refs.push(await storePage(store, key, targets.slice(start, start + PAGE_SIZE), 'targets'));
  }
  return refs;
}

export function readTargetPage(store: ArtifactStore, ref: PageRef): Promise<Target[]> {
  return readPage(store, ref, Target, 'target');
}

/** A page of a campaign's published changes, numbered in the order the campaign stored them. */
export function storeTrackedChanges(
  store: ArtifactStore,
  campaignId: string,
  page: number,
  changes: readonly TrackedChange[],
): Promise<PageRef> {
  return storePage(
    store,
    `campaigns/${campaignId}/published/page-${String(page).padStart(4, '0')}.json`,
    changes,
    'targets',
  );
}

export function readTrackedChanges(store: ArtifactStore, ref: PageRef): Promise<TrackedChange[]> {
  return readPage(store, ref, TrackedChange, 'published changes');
}
