/**
 * The sandbox image, built from docker/ on a base made by debootstrap (or one the user can pull), and
 * labelled with a hash of docker/ so `dev up` rebuilds it only when that folder changed.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { runCommand, runChecked } from '../host/command';
import { servicePaths } from './processes';

export const DEFAULT_BASE_IMAGE = 'regatta-base:bookworm';
export const DOCKER_HASH_LABEL = 'dev.regatta.docker-hash';

export interface SandboxImageOptions {
  projectRoot: string;
  home: string;
  image: string;
  /** A base the user can pull (REGATTA_BASE_IMAGE); when absent, the debootstrap base is made locally. */
  baseImage?: string;
  log?: (message: string) => void;
}

export interface SandboxImageStatus {
  healthy: boolean;
  image: string;
  baseImage: string;
  built: boolean;
  dockerHash: string;
  error?: string;
}

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : [path.join(dir, entry.name)]))
    .sort();
}

/** A hash of every file under docker/ plus the base image's id, so a new base also triggers a rebuild. */
export function dockerContextHash(dockerDir: string, baseImageId: string): string {
  const hash = createHash('sha256').update(`base:${baseImageId}\n`);
  for (const file of filesUnder(dockerDir)) {
    hash
      .update(`${path.relative(dockerDir, file)}\n`)
      .update(fs.readFileSync(file))
      .update('\n');
  }
  return hash.digest('hex').slice(0, 16);
}

export async function imageId(image: string): Promise<string | undefined> {
  const inspect = await runCommand('docker', ['image', 'inspect', '--format', '{{.Id}}', image]);
  return inspect.code === 0 ? inspect.stdout.trim() : undefined;
}

async function imageLabel(image: string, label: string): Promise<string | undefined> {
  const inspect = await runCommand('docker', [
    'image',
    'inspect',
    '--format',
    `{{ index .Config.Labels "${label}" }}`,
    image,
  ]);
  return inspect.code === 0 ? inspect.stdout.trim() : undefined;
}

function appendTo(logFile: string): (chunk: string) => void {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  return (chunk) => fs.appendFileSync(logFile, chunk);
}

export async function ensureBaseImage(options: SandboxImageOptions): Promise<string> {
  const baseImage = options.baseImage ?? DEFAULT_BASE_IMAGE;
  if (await imageId(baseImage)) return baseImage;
  if (options.baseImage) {
    const logFile = servicePaths(options.home, 'base-image').logFile;
    options.log?.(`pulling ${baseImage}`);
    await runChecked('docker', ['pull', baseImage], { onOutput: appendTo(logFile) });
    return baseImage;
  }
  options.log?.(`making ${baseImage} with debootstrap (about a minute)`);
  const logFile = servicePaths(options.home, 'base-image').logFile;
  await runChecked('bash', [path.join(options.projectRoot, 'docker', 'base', 'make-base.sh'), baseImage], {
    onOutput: appendTo(logFile),
  });
  return baseImage;
}

export async function ensureSandboxImage(options: SandboxImageOptions): Promise<SandboxImageStatus> {
  const baseImage = await ensureBaseImage(options);
  const dockerDir = path.join(options.projectRoot, 'docker');
  const dockerHash = dockerContextHash(dockerDir, (await imageId(baseImage)) ?? baseImage);
  if ((await imageLabel(options.image, DOCKER_HASH_LABEL)) === dockerHash) {
    return { healthy: true, image: options.image, baseImage, built: false, dockerHash };
  }
  options.log?.(`building ${options.image} from docker/ (a few minutes the first time)`);
  const logFile = servicePaths(options.home, 'sandbox-image').logFile;
  await runChecked(
    'docker',
    [
      'build',
      '--build-arg',
      `BASE_IMAGE=${baseImage}`,
      '--label',
      `${DOCKER_HASH_LABEL}=${dockerHash}`,
      '--tag',
      options.image,
      dockerDir,
    ],
    { onOutput: appendTo(logFile) },
  );
  return { healthy: true, image: options.image, baseImage, built: true, dockerHash };
}

export async function sandboxImageStatus(image: string): Promise<SandboxImageStatus> {
  const hash = await imageLabel(image, DOCKER_HASH_LABEL);
  const base = { image, baseImage: '', built: false, dockerHash: hash ?? '' };
  if (hash === undefined)
    return { ...base, healthy: false, error: `image ${image} is missing: run \`regatta dev up\`` };
  return { ...base, healthy: true };
}
