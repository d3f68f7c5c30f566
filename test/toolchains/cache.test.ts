/**
 * The host's toolchain cache against the real registry (through the host's npm): a corrupted binary or an install that
 * never finished is found and installed again, and two workers installing the same version at once both end up with
 * one intact copy.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MANIFEST_FILE, ToolchainCache } from '../../src/toolchains/cache';
import { Toolchains } from '../../src/toolchains';
import { ToolchainRegistry } from '../../src/toolchains/registry';

let root: string;
let repo: string;

/** A second worker process on the same host: its own Toolchains, the same cache directory. */
function worker(): Toolchains {
  return new Toolchains(new ToolchainCache(root, new ToolchainRegistry(path.join(root, '.metadata'))));
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-toolchain-cache-'));
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-toolchain-repo-'));
  fs.writeFileSync(path.join(repo, '.nvmrc'), '22\n');
  fs.writeFileSync(
    path.join(repo, 'package.json'),
    JSON.stringify({ name: '@acme/ledger', version: '2.0.1', scripts: { test: 'node test.js' } }, null, 2),
  );
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(repo, { recursive: true, force: true });
});

function nodeDir(prepared: Awaited<ReturnType<Toolchains['prepare']>>): string {
  return prepared.mounts.find((m) => m.containerPath.endsWith('/node'))!.hostPath;
}

describe('the toolchain cache', () => {
  it('installs once when two workers ask for the same version at the same moment', async () => {
    const [first, second] = await Promise.all([worker().prepare(repo), worker().prepare(repo)]);
    expect(nodeDir(first)).toBe(nodeDir(second));
    expect(execFileSync(path.join(nodeDir(first), 'bin', 'node'), ['--version'], { encoding: 'utf8' })).toMatch(
      /^v22\.\d+\.\d+\n$/,
    );
    expect(fs.readdirSync(path.join(root, 'node'))).toHaveLength(1);
    // Nothing half-made is left behind by the worker whose rename lost.
    expect(fs.readdirSync(path.join(root, '.staging'))).toEqual([]);
  });

  it('finds a corrupted node binary and installs it again before a run uses it', async () => {
    const dir = nodeDir(await worker().prepare(repo));
    const binary = path.join(dir, 'bin', 'node');
    const fd = fs.openSync(binary, 'r+');
    fs.writeSync(fd, Buffer.from('corrupted by a disk fault'), 0, 25, 0);
    fs.closeSync(fd);
    expect(() => execFileSync(binary, ['--version'], { stdio: 'pipe' })).toThrow();

    const again = await worker().prepare(repo);
    expect(nodeDir(again)).toBe(dir);
    expect(execFileSync(binary, ['--version'], { encoding: 'utf8' })).toMatch(/^v22\.\d+\.\d+\n$/);
  });

  it('redoes an install that never finished (no manifest), and one a file went missing from', async () => {
    const npmDir = (await worker().prepare(repo)).mounts.find((m) => m.containerPath.endsWith('/npm'))!.hostPath;
    fs.rmSync(path.join(npmDir, MANIFEST_FILE));
    await worker().prepare(repo);
    expect(fs.existsSync(path.join(npmDir, MANIFEST_FILE))).toBe(true);

    fs.rmSync(path.join(npmDir, 'bin', 'npm-cli.js'));
    await worker().prepare(repo);
    expect(
      execFileSync(path.join(npmDir, '.regatta-bin', 'npm'), ['--version'], {
        encoding: 'utf8',
        env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` },
      }),
    ).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
