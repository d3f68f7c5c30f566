/** Where evidence is kept: one interface, a local-directory store (default) and an S3 store. */
import { createHash } from 'node:crypto';
import type { ArtifactRef } from '../contracts';
import { redact } from './redact';

export type ArtifactType = ArtifactRef['type'];

export interface ArtifactStore {
  /** Stores `body` under `key`; text is redacted first. Returns the reference that workflows carry. */
  put(key: string, body: string | Buffer, type: ArtifactType): Promise<ArtifactRef>;
  get(uri: string): Promise<Buffer>;
  /** The URI `put(key, …)` stores under, so an entry kept by key (a cached baseline) can be read back without a ref. */
  uriFor(key: string): string;
}

/** `runs/<runId>/<attempt>/<name>`, with the run id's slashes kept as path segments that cannot climb. */
export function runArtifactKey(runId: string, attempt: number | string, name: string): string {
  const segments = [...runId.split('/'), String(attempt), name].map((segment) => {
    if (!segment || segment === '.' || segment === '..' || /[\\\0]/.test(segment))
      throw new Error(`artifact key segment "${segment}" is not allowed`);
    return segment;
  });
  return ['runs', ...segments].join('/');
}

export function prepareBody(body: string | Buffer): { bytes: Buffer; sha256: string } {
  const bytes = typeof body === 'string' ? Buffer.from(redact(body), 'utf8') : body;
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export function artifactName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}
