/**
 * surveyDependency (execution plane): which version of a dependency each repository declares and installs, read by
 * the dependency's ecosystem (src/ecosystems: package.json, go.mod). Manifests are read as data from git objects
 * (src/git/objects.ts); nothing is checked out or run. A repository with none of the ecosystem's manifest files at
 * its root is reported with no version (not applicable), so one survey can cover a mixed fleet; a mixed fleet's
 * desired state asks for several dependencies at once (`dependencies`), each repository cloned once for all of them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DependencySurvey, Target } from '../../src/contracts';
import { ecosystemNamed, type Ecosystem, type EcosystemName } from '../../src/ecosystems';
import { cloneObjectsOnly, readBlobAt } from '../../src/git/objects';
import { mapInResumableBatches } from '../../src/temporal/resumable-batches';

const MAX_MANIFEST_BYTES = 5 * 1024 * 1024;

/** Heartbeats after every batch of repositories, and a retried attempt resumes where the last heartbeat left off. */
export async function surveyDependency(
  input: {
    targets: Target[];
  } & (
    | {
        package: string;
        /** Absent: npm, as schedules made before other ecosystems ask. */
        ecosystem?: EcosystemName;
      }
    | {
        /** One entry per repository and dependency, each naming its dependency. */
        dependencies: { package: string; ecosystem?: EcosystemName }[];
      }
  ),
): Promise<DependencySurvey> {
  if ('dependencies' in input) {
    const asked = input.dependencies.map((d) => ({
      package: d.package,
      ecosystem: ecosystemNamed(d.ecosystem ?? 'npm'),
    }));
    const found = await mapInResumableBatches(input.targets, (target) => surveyOne(target, asked, true));
    return found.flat();
  }
  const asked = [{ package: input.package, ecosystem: ecosystemNamed(input.ecosystem ?? 'npm') }];
  return mapInResumableBatches(input.targets, async (target) => (await surveyOne(target, asked, false))[0]);
}

type Asked = { package: string; ecosystem: Ecosystem }[];

async function surveyOne(target: Target, asked: Asked, naming: boolean): Promise<DependencySurvey> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-survey-'));
  const named = (dependency: Asked[number]) =>
    naming ? { ecosystem: dependency.ecosystem.name, package: dependency.package } : {};
  try {
    let oid: string;
    try {
      oid = await cloneObjectsOnly(dir, target.url, target.ref);
    } catch (err) {
      return asked.map((d) => ({ repo: target.repo, ...named(d), error: cannotRead(d.ecosystem, target, err) }));
    }
    const read = (filepath: string) => readText(dir, oid, filepath);
    const found: DependencySurvey = [];
    for (const dependency of asked) {
      try {
        const manifests = await Promise.all(dependency.ecosystem.manifestFiles.map(read));
        const current = manifests.every((m) => m === undefined)
          ? {}
          : await dependency.ecosystem.readCurrentVersion(read, dependency.package);
        found.push({ repo: target.repo, ...named(dependency), ...current });
      } catch (err) {
        found.push({ repo: target.repo, ...named(dependency), error: cannotRead(dependency.ecosystem, target, err) });
      }
    }
    return found;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function cannotRead(ecosystem: Ecosystem, target: Target, err: unknown): string {
  return `cannot read the ${ecosystem.name} manifests of ${target.url}@${target.ref}: ${(err as Error).message}`;
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
