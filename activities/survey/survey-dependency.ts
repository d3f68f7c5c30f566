/**
 * surveyDependency (execution plane): which version of a package each repository declares and installs.
 * Manifests are read as data from git objects (src/git/objects.ts); nothing is checked out or run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DependencySurvey, Target } from '../../src/contracts';
import { cloneObjectsOnly, readBlobAt } from '../../src/git/objects';
import { mapInResumableBatches } from '../../src/temporal/resumable-batches';

const MAX_MANIFEST_BYTES = 5 * 1024 * 1024;

/** Heartbeats after every batch of repositories, and a retried attempt resumes where the last heartbeat left off. */
export async function surveyDependency(input: { targets: Target[]; package: string }): Promise<DependencySurvey> {
  return mapInResumableBatches(input.targets, (target) => surveyOne(target, input.package));
}

async function surveyOne(target: Target, pkg: string): Promise<DependencySurvey[number]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-survey-'));
  try {
    const oid = await cloneObjectsOnly(dir, target.url, target.ref);
    const manifest = await readJson(dir, oid, 'package.json');
    const lock = await readJson(dir, oid, 'package-lock.json').catch(() => undefined);
    const declared = dependencyRange(manifest, pkg);
    const installed = lockedVersion(lock, pkg);
    return { repo: target.repo, ...(declared ? { declared } : {}), ...(installed ? { installed } : {}) };
  } catch (err) {
    return {
      repo: target.repo,
      error: `cannot read the manifests of ${target.url}@${target.ref}: ${(err as Error).message}`,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function readJson(dir: string, oid: string, filepath: string): Promise<unknown> {
  const blob = await readBlobAt(dir, oid, filepath);
  if (blob.byteLength > MAX_MANIFEST_BYTES) throw new Error(`${filepath} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  return JSON.parse(Buffer.from(blob).toString('utf8'));
}

function dependencyRange(manifest: unknown, pkg: string): string | undefined {
  const m = manifest as Record<string, Record<string, unknown> | undefined>;
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
    const value = m?.[field]?.[pkg];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

function lockedVersion(lock: unknown, pkg: string): string | undefined {
  const packages = (lock as { packages?: Record<string, { version?: unknown }> } | undefined)?.packages;
  const version = packages?.[`node_modules/${pkg}`]?.version;
  return typeof version === 'string' ? version : undefined;
}
