/**
 * Measures the execution plane against plain Docker and native git on this machine:
 *   npx tsx bench/sandbox.ts [rounds]
 * Prints medians and ratios: hardened sandbox start-to-first-command vs `docker run --rm`, one sandbox exec vs
 * `docker exec`, and an isomorphic-git shallow clone vs `git clone --depth 1` of the same repository over smart HTTP.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { createRepo } from '../src/dev/fleet';
import { startGitServer } from '../src/dev/git-server';
import { shallowClone } from '../src/git/workspace';
import { runChecked } from '../src/host/command';
import { dockerClient, Sandbox } from '../src/sandbox/driver';
import { benchmarkFiles } from './heavy-repo';
import { repeat } from './timing';

const LIMITS = {
  runTimeoutMs: 60_000,
  commandTimeoutMs: 30_000,
  maxOutputBytes: 1024 * 1024,
  memoryBytes: 512 * 1024 * 1024,
  nanoCpus: 1_000_000_000,
  pids: 256,
};

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 7);
  const image = loadConfig().sandboxImage;
  const docker = dockerClient();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-bench-'));
  const workspace = path.join(scratch, 'workspace');
  fs.mkdirSync(workspace);
  fs.chownSync(workspace, 10001, 10001);
  const rows: [string, number, number][] = [];
  try {
    const sandboxStart = await repeat(rounds, async () => {
      const sandbox = await Sandbox.start(docker, {
        image,
        workspaceDir: workspace,
        runId: 'run/benchmark/start',
        attempt: 1,
        limits: LIMITS,
        network: { mode: 'none' },
      });
      await sandbox.exec('true');
      await sandbox.remove();
    });
    const dockerRun = await repeat(rounds, () => runChecked('docker', ['run', '--rm', image, 'true']));
    rows.push(['container start to first command', sandboxStart, dockerRun]);

    const sandbox = await Sandbox.start(docker, {
      image,
      workspaceDir: workspace,
      runId: 'run/benchmark/exec',
      attempt: 1,
      limits: LIMITS,
      network: { mode: 'none' },
    });
    try {
      const sandboxExec = await repeat(rounds * 3, () => sandbox.exec('true'));
      const dockerExec = await repeat(rounds * 3, () => runChecked('docker', ['exec', sandbox.container.id, 'true']));
      rows.push(['one command (tool call) in a running container', sandboxExec, dockerExec]);
    } finally {
      await sandbox.remove();
    }

    await createRepo(path.join(scratch, 'repos'), 'bench/heavy', benchmarkFiles());
    const server = await startGitServer({ root: path.join(scratch, 'repos') });
    try {
      const url = `${server.baseUrl}/bench/heavy.git`;
      let n = 0;
      const isoClone = await repeat(rounds, () =>
        // A fresh git cache each round: this row measures a cold clone (bench/clone.ts measures warm ones).
        shallowClone({
          url,
          ref: 'main',
          dir: path.join(scratch, `iso-${n}`),
          gitCache: { dir: path.join(scratch, `cache-${n++}`), maxBytes: 2 ** 31 },
        }),
      );
      const nativeClone = await repeat(rounds, () =>
        runChecked('git', [
          'clone',
          '-q',
          '--depth',
          '1',
          '--single-branch',
          '--no-tags',
          url,
          path.join(scratch, `native-${n++}`),
        ]),
      );
      rows.push(['shallow clone (2,005 files)', isoClone, nativeClone]);
    } finally {
      await server.close();
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }

  console.log(`median of ${rounds} rounds (exec: ${rounds * 3}) on ${os.hostname()}, image ${image}`);
  console.log(['measure', 'regatta ms', 'baseline ms', 'ratio'].join('\t'));
  for (const [name, ours, baseline] of rows)
    console.log([name, ours.toFixed(1), baseline.toFixed(1), (ours / baseline).toFixed(2)].join('\t'));
  console.log(
    'baselines: `docker run --rm <image> true`, `docker exec <id> true` (CLI), `git clone --depth 1` (native)',
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
