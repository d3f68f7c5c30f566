/** The Docker sandbox holds what it runs: each escape a repository's code could try, on real Docker. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SandboxLimits } from '../../src/contracts';
import { loadConfig } from '../../src/config';
import {
  ATTEMPT_LABEL,
  dockerClient,
  EXPIRES_LABEL,
  MANAGED_LABEL,
  reapContainers,
  RUN_LABEL,
  Sandbox,
} from '../../src/sandbox/driver';

const docker = dockerClient();
const image = loadConfig().sandboxImage;
const limits: SandboxLimits = {
  runTimeoutMs: 60_000,
  commandTimeoutMs: 20_000,
  maxOutputBytes: 16 * 1024,
  memoryBytes: 256 * 1024 * 1024,
  nanoCpus: 1_000_000_000,
  pids: 64,
};
const runId = `run/sandbox-test-${process.pid}/acme/widget`;

let workspace: string;
let sandbox: Sandbox;

beforeAll(async () => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-sandbox-'));
  fs.writeFileSync(path.join(workspace, 'README.md'), 'hello\n');
  fs.chownSync(workspace, 10001, 10001);
  fs.chownSync(path.join(workspace, 'README.md'), 10001, 10001);
  process.env.REGATTA_TEST_SECRET_TOKEN = 'host-secret-value-that-must-not-leak';
  sandbox = await Sandbox.start(docker, {
    image,
    workspaceDir: workspace,
    runId,
    attempt: 2,
    limits,
    network: { mode: 'none' },
  });
});

afterAll(async () => {
  delete process.env.REGATTA_TEST_SECRET_TOKEN;
  await sandbox?.remove();
  fs.rmSync(workspace, { recursive: true, force: true });
});

describe('the sandbox container', () => {
  it('is created hardened and labelled with its run and attempt', async () => {
    const info = await sandbox.container.inspect();
    expect(info.Config.User).toBe('10001:10001');
    expect(info.Config.Labels).toMatchObject({ [MANAGED_LABEL]: 'true', [RUN_LABEL]: runId, [ATTEMPT_LABEL]: '2' });
    expect(info.HostConfig).toMatchObject({
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      NetworkMode: 'none',
      PidsLimit: 64,
      Memory: 256 * 1024 * 1024,
      NanoCpus: 1_000_000_000,
    });
    const imageEnv = (await docker.getImage(image).inspect()).Config.Env ?? [];
    const fixed = ['HOME', 'LANG', 'PATH', 'npm_config_cache', 'npm_config_update_notifier'];
    const names = new Set([...fixed, ...imageEnv.map((e) => e.split('=')[0])]);
    expect(info.Config.Env.filter((e) => !names.has(e.split('=')[0]))).toEqual([]);
  });

  it('runs commands as uid 10001 in /workspace with no capabilities and no-new-privileges', async () => {
    const result = await sandbox.exec('id -u; id -g; pwd; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status');
    expect(result.exitCode).toBe(0);
    expect(result.output.split('\n').map((l) => l.replace(/\s+/g, ' ').trim())).toEqual([
      '10001',
      '10001',
      '/workspace',
      'CapEff: 0000000000000000',
      'NoNewPrivs: 1',
      '',
    ]);
  });

  it('sees none of the worker environment', async () => {
    const result = await sandbox.exec('env; cat /proc/1/environ | tr "\\0" "\\n"');
    expect(result.output).not.toContain('REGATTA_TEST_SECRET_TOKEN');
    expect(result.output).not.toContain('host-secret-value-that-must-not-leak');
  });

  it('writes in /workspace and scratch tmpfs, and nowhere else', async () => {
    const result = await sandbox.exec(
      'for p in /workspace/new.txt /tmp/scratch /home/regatta/.cache /etc/evil /usr/bin/evil /evil /workspace/../evil; do if (echo x > "$p") 2>/dev/null; then echo "wrote $p"; else echo "denied $p"; fi; done',
    );
    expect(result.output.trim().split('\n')).toEqual([
      'wrote /workspace/new.txt',
      'wrote /tmp/scratch',
      'wrote /home/regatta/.cache',
      'denied /etc/evil',
      'denied /usr/bin/evil',
      'denied /evil',
      'denied /workspace/../evil',
    ]);
    expect(fs.readFileSync(path.join(workspace, 'new.txt'), 'utf8')).toBe('x\n');
  });

  it('has no network: only loopback exists and a connection to the host fails', async () => {
    const result = await sandbox.exec(
      `ls /sys/class/net; python3 -c "import errno, socket, sys
try: socket.create_connection(('172.17.0.1', 80), timeout=5)
except OSError as e: print(errno.errorcode[e.errno]); sys.exit(7)"`,
    );
    expect(result.exitCode).toBe(7);
    expect(result.output.trim().split('\n')).toEqual(['lo', 'ENETUNREACH']);
  });

  it('stops a command that outlives its wall-clock limit and stays usable afterwards', async () => {
    const result = await sandbox.exec('echo started; sleep 60 & sleep 60', 1_500);
    expect(result).toMatchObject({ timedOut: true, exitCode: 137 });
    expect(result.durationMs).toBeLessThan(15_000);
    expect(result.output).toContain('started');
    expect(result.output).toContain('stopped after 1500 ms');
    const after = await sandbox.exec('ps -e -o args= | grep -c "sleep 6[0]"; cat README.md');
    expect(after.output.trim().split('\n')).toEqual(['0', 'hello']);
  });

  it('caps what a command prints, keeping its beginning and its end, and records the cap', async () => {
    const result = await sandbox.exec('echo started; head -c 100000 /dev/zero | tr "\\0" x; echo; echo "# tests 171"');
    expect(result.exitCode).toBe(0);
    expect(result.outputTruncated).toBe(true);
    expect(result.outputBytes).toBeGreaterThan(100_000);
    expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(limits.maxOutputBytes);
    expect(result.output.startsWith('started\n')).toBe(true);
    expect(result.output).toMatch(/\[regatta: \d+ bytes omitted\]/);
    expect(result.output.endsWith('# tests 171\n')).toBe(true);
  });

  it('stops a command printing without end long before it has printed gigabytes', async () => {
    const result = await sandbox.exec('yes regatta', 60_000);
    expect(result.exitCode).toBe(137);
    expect(result.outputTruncated).toBe(true);
    expect(result.output).toContain('stopped after printing more than');
    expect(result.durationMs).toBeLessThan(30_000);
  });

  it('contains a fork bomb with its pids limit: forks are refused, and the command goes on to finish long before its time limit', async () => {
    // The command's own shell forks once, for the bomb; then it runs only builtins (a refused fork would end it) until
    // the kernel's pids controller has refused a fork, and keeps that count in the workspace.
    const command =
      'events=/sys/fs/cgroup/pids/pids.events; [ -r $events ] || events=/sys/fs/cgroup/pids.events; ' +
      'bomb() { bomb | bomb & }; bomb & ' +
      'until read -r refused < $events && [ "$refused" != "max 0" ]; do :; done; ' +
      'echo "$refused" > /workspace/pids-refused';
    const result = await sandbox.exec(command, 60_000);
    expect(result).toMatchObject({ exitCode: 0, timedOut: false });
    expect(result.durationMs).toBeLessThan(30_000);
    expect(result.output).toMatch(/Cannot fork|Resource temporarily unavailable/);
    expect(fs.readFileSync(path.join(workspace, 'pids-refused'), 'utf8')).toMatch(/^max [1-9]\d*\n$/);
    const after = await sandbox.exec('echo alive');
    expect(after).toMatchObject({ exitCode: 0, output: 'alive\n' });
  });

  it('returns as soon as a command exits, with its own exit code, though a process it started still holds its output', async () => {
    const result = await sandbox.exec('echo started; sleep 1000 & exit 3', 60_000);
    expect(result).toMatchObject({ exitCode: 3, timedOut: false });
    expect(result.durationMs).toBeLessThan(10_000);
    expect(result.output).toContain('started');
    expect(result.output).toContain('left 1 process(es) running; they were stopped');
    const after = await sandbox.exec('ps -e -o args= | grep -c "sleep 100[0]"');
    expect(after.output).toBe('0\n');
  });

  it('stops a process a command left running in the background with its output elsewhere', async () => {
    const result = await sandbox.exec('sleep 1000 >/dev/null 2>&1 &');
    expect(result).toMatchObject({ exitCode: 0, timedOut: false });
    const after = await sandbox.exec('ps -e -o args= | grep -c "sleep 100[0]"');
    expect(after.output).toBe('0\n');
  });

  it('ends a command whose fork bomb fills the pids limit at once, with its exit code, and runs the next one in a clean process tree', async () => {
    // `bomb &`: the command's own shell forks once, before the bomb fills the table, so its exit is its own, not a refused fork's.
    const result = await sandbox.exec('bomb() { bomb | bomb & }; bomb & exit 5', 60_000);
    expect(result).toMatchObject({ exitCode: 5, timedOut: false });
    // Whether any of the bomb is still alive when the command ends is a race; what follows it must find none.
    expect(result.durationMs).toBeLessThan(15_000);
    const after = await sandbox.exec('ps -e -o pid= | wc -l');
    expect(after.exitCode).toBe(0);
    // docker-init, sleep infinity, and this command's sh, ps and wc.
    expect(Number(after.output.trim())).toBeLessThanOrEqual(5);
  });

  it('waits for a command that closes its output and keeps running, and keeps scratch files when nothing was left behind', async () => {
    await sandbox.exec('echo kept > /tmp/scratch-kept');
    const result = await sandbox.exec('exec >/dev/null 2>&1; sleep 2; exit 4', 60_000);
    expect(result.exitCode).toBe(4);
    expect(result.durationMs).toBeGreaterThanOrEqual(2_000);
    const after = await sandbox.exec('cat /tmp/scratch-kept');
    expect(after).toMatchObject({ exitCode: 0, output: 'kept\n' });
  });

  it('refuses to run as root', async () => {
    await expect(
      Sandbox.start(docker, {
        image,
        workspaceDir: workspace,
        runId,
        attempt: 1,
        user: '0:0',
        limits,
        network: { mode: 'none' },
      }),
    ).rejects.toThrow(/root/);
  });
});

describe('reapContainers', () => {
  it('removes the sandboxes of a run found by label, leaving other runs alone', async () => {
    const otherRun = `${runId}-other`;
    const stale = await Sandbox.start(docker, {
      image,
      workspaceDir: workspace,
      runId: otherRun,
      attempt: 1,
      limits,
      network: { mode: 'none' },
    });
    const reaped = await reapContainers(docker, { runId: otherRun });
    expect(reaped).toEqual([stale.container.id]);
    await expect(stale.container.inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(sandbox.container.inspect()).resolves.toBeDefined();
  });

  it('removes, across runs, only the containers whose attempt deadline has passed', async () => {
    const expired = await Sandbox.start(docker, {
      image,
      workspaceDir: workspace,
      runId: `${runId}-expired`,
      attempt: 1,
      limits,
      network: { mode: 'none' },
      expiresAt: Date.now() - 1_000,
    });
    const live = await Sandbox.start(docker, {
      image,
      workspaceDir: workspace,
      runId: `${runId}-live`,
      attempt: 1,
      limits,
      network: { mode: 'none' },
      expiresAt: Date.now() + 600_000,
    });
    try {
      expect((await live.container.inspect()).Config.Labels[EXPIRES_LABEL]).toMatch(/^\d+$/);
      const reaped = await reapContainers(docker, { expired: true });
      expect(reaped).toContain(expired.container.id);
      expect(reaped).not.toContain(live.container.id);
      expect(reaped).not.toContain(sandbox.container.id);
    } finally {
      await live.remove();
      await expired.remove();
    }
  });
});
