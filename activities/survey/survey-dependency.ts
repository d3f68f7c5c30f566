/**
 * surveyDependency (execution plane): which version of a dependency each repository declares and installs, read by
 * the dependency's ecosystem (src/ecosystems: package.json, go.mod). Manifests are read as data from git objects
 * (src/git/objects.ts); nothing is checked out or run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DependencySurvey, Target } from '../../src/contracts';
import { ecosystemNamed, type EcosystemName } from '../../src/ecosystems';
import { cloneObjectsOnly, readBlobAt } from '../../src/git/objects';
import { mapInResumableBatches } from '../../src/temporal/resumable-batches';

const MAX_MANIFEST_BYTES = 5 * 1024 * 1024;

/** Heartbeats after every batch of repositories, and a retried attempt resumes where the last heartbeat left off. */
export async function surveyDependency(input: {
  targets: Target[];
  package: string;
  /** Absent: npm, as schedules made before other ecosystems ask. */
  ecosystem?: EcosystemName;
}): Promise<DependencySurvey> {
  const ecosystem = ecosystemNamed(input.ecosystem ?? 'npm');
  return mapInResumableBatches(input.targets, (target) => surveyOne(target, input.package, ecosystem));
}

async function surveyOne(
  target: Target,
  dependency: string,
  ecosystem: ReturnType<typeof ecosystemNamed>,
): Promise<DependencySurvey[number]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-survey-'));
  try {
    const oid = await cloneObjectsOnly(dir, target.url, target.ref);
    const current = await ecosystem.readCurrentVersion((filepath) => readText(dir, oid, filepath), dependency);
    return { repo: target.repo, ...current };
  } catch (err) {
    return {
      repo: target.repo,
      error: `cannot read the ${ecosystem.name} manifests of ${target.url}@${target.ref}: ${(err as Error).message}`,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function readText(dir: string, oid: string, filepath: string): Promise<string | undefined> {
  let blob: Uint8Array;
  try {
    blob = await readBlobAt(dir, oid, filepath);
  } catch {
    return undefined;
  }
  if (blob.byteLength > MAX_MANIFEST_BYTES) throw new Error(`${filepath} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  return Buffer.from(blob).toString('utf8');
}
