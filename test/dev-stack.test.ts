import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Docker from 'dockerode';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { loadConfig } from '../src/config';
import { createRepo, FLEET, FLEET_RENAME } from '../src/dev/fleet';
import { startGitServer } from '../src/dev/git-server';
import { readServiceRecord, runningService, startService, stopService, waitUntil } from '../src/dev/processes';
import { ensureStack, GIT_SERVER_SERVICE, stackStatus } from '../src/dev/stack';
import { readStackInfo } from './support/stack';

const config = loadConfig();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-dev-stack-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('the local stack', () => {
  it('reports every component healthy once it is up', async () => {
    const status = await stackStatus();
    const health = Object.fromEntries(status.components.map((c) => [c.name, c.healthy]));
    expect(health).toMatchObject({
      docker: true,
      temporal: true,
      'sandbox-image': true,
      'git-server': true,
      'artifact-store': true,
      'package-registry': true,
      'registry-mirror': true,
    });
  });

  it('does not call the stack healthy while one of its workers is down, even after a dev up without workers', async () => {
    await ensureStack({ workers: true });
    expect((await stackStatus()).healthy).toBe(true);
    await stopService(config.home, 'execution-worker');
    try {
      await ensureStack({ workers: false });
      const status = await stackStatus();
      expect(status.healthy).toBe(false);
      expect(status.components.find((c) => c.name === 'execution-worker')).toMatchObject({
        healthy: false,
        error: 'not running',
      });
    } finally {
      await ensureStack({ workers: true });
    }
    expect((await stackStatus()).healthy).toBe(true);
  }, 300_000);

  it('serves every fleet repository over smart HTTP to isomorphic-git', async () => {
    const { targets } = readStackInfo();
    expect(targets.map((t) => t.repo)).toEqual(FLEET.map((s) => s.repo));
    for (const target of targets) {
      const dir = path.join(scratch, 'clones', target.repo);
      await git.clone({ fs, http, dir, url: target.url, ref: target.ref, singleBranch: true, depth: 1 });
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name: string;
        scripts: { test: string };
      };
      expect(pkg).toMatchObject({ name: `@acme/${target.repo.split('/')[1]}`, scripts: { test: 'node test.js' } });
      const usesOldName = FLEET.find((s) => s.repo === target.repo)!.usesOldName;
      expect(fs.readFileSync(path.join(dir, 'src', 'labels.js'), 'utf8').includes(FLEET_RENAME.find)).toBe(usesOldName);
    }
  });

  it('builds a sandbox image that runs as uid 10001 in /workspace, with what node-gyp needs and no Node.js of its own', async () => {
    const docker = new Docker();
    const image = await docker.getImage(config.sandboxImage).inspect();
    expect(image.Config.User).toBe('10001:10001');
    expect(image.Config.WorkingDir).toBe('/workspace');
    const logs: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk);
        done();
      },
    });
    const [result] = (await docker.run(
      config.sandboxImage,
      [
        'sh',
        '-c',
        'id -u; python3 -c "print(1+1)"; make --version | head -1; g++ --version | head -1; command -v node || echo no-node',
      ],
      sink,
      { Tty: true, Env: ['NODE_DISABLE_COLORS=1'], HostConfig: { AutoRemove: true, NetworkMode: 'none' } },
    )) as [{ StatusCode: number }];
    expect(result.StatusCode).toBe(0);
    expect(Buffer.concat(logs).toString()).toMatch(/10001\s+2\s+GNU Make [\d.]+\s+g\+\+ .*\s+no-node/);
  });

  it('is idempotent: bringing it up again, even twice at once, starts no second copy of any service', async () => {
    const services = [GIT_SERVER_SERVICE, 'versitygw', 'verdaccio', 'temporal'];
    const pidsBefore = services.map((name) => runningService(config.home, name)?.pid);
    expect(readServiceRecord(config.home, GIT_SERVER_SERVICE)?.pid).toBeDefined();
    const [first, second] = await Promise.all([ensureStack({ workers: false }), ensureStack({ workers: false })]);
    expect(first.gitBaseUrl).toBe(second.gitBaseUrl);
    expect(services.map((name) => runningService(config.home, name)?.pid)).toEqual(pidsBefore);
  });
});

describe('fixture repositories', () => {
  it('createRepo makes a bare repo that accepts pushes through the in-process git server', async () => {
    const root = path.join(scratch, 'repos');
    await createRepo(root, 'fixtures/hello', { 'README.md': '# hello\n' });
    await createRepo(root, 'fixtures/hello', { 'README.md': 'ignored: the repo exists\n' });
    const server = await startGitServer({ root });
    try {
      const url = `${server.baseUrl}/fixtures/hello.git`;
      const dir = path.join(scratch, 'hello');
      await git.clone({ fs, http, dir, url, ref: 'main', singleBranch: true, depth: 1 });
      expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toBe('# hello\n');
      fs.writeFileSync(path.join(dir, 'CHANGELOG.md'), 'changed\n');
      await git.add({ fs, dir, filepath: 'CHANGELOG.md' });
      const commit = await git.commit({
        fs,
        dir,
        message: 'change',
        author: { name: 'test', email: 'test@example.invalid' },
      });
      await git.branch({ fs, dir, ref: 'regatta/change' });
      const pushed = await git.push({ fs, http, dir, remote: 'origin', ref: 'regatta/change' });
      expect(pushed.ok).toBe(true);
      const refs = await git.listServerRefs({ http, url, prefix: 'refs/heads/' });
      expect(refs).toContainEqual({ ref: 'refs/heads/regatta/change', oid: commit });
    } finally {
      await server.close();
    }
  });
});

describe('process supervision', () => {
  const home = path.join(scratch, 'home');

  it('starts a detached service once, finds it by pid file, and stops it', async () => {
    const spec = { name: 'sleeper', command: 'sleep', args: ['300'] };
    const first = startService(home, spec);
    const again = startService(home, spec);
    expect(again.pid).toBe(first.pid);
    expect(fs.readFileSync(path.join(home, 'run', 'sleeper.pid'), 'utf8').trim()).toBe(String(first.pid));
    expect(await stopService(home, 'sleeper')).toBe(true);
    expect(runningService(home, 'sleeper')).toBeUndefined();
    expect(await stopService(home, 'sleeper')).toBe(false);
  });

  it('explains a service that dies while starting with the tail of its log', async () => {
    const record = startService(home, {
      name: 'crasher',
      command: 'sh',
      args: ['-c', 'echo "listen failed: port in use"; exit 3'],
    });
    await expect(
      waitUntil(async () => false, {
        what: 'crasher on port 1',
        timeoutMs: 10_000,
        pid: record.pid,
        logFile: path.join(home, 'logs', 'crasher.log'),
      }),
    ).rejects.toThrow(/crasher on port 1: its process \(pid \d+\) exited[\s\S]*listen failed: port in use/);
  });
});
