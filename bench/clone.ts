/**
 * Clones of the 2,005-file benchmark repository over the local smart-HTTP server, in one run:
 *   node --require tsx/cjs bench/clone.ts [rounds] [--profile]
 * Prints medians, each as a ratio to native `git clone --depth 1`: isomorphic-git's clone (what Regatta used
 * before), Regatta's clone with an empty git cache (cold), and with a cache one upstream commit behind (warm); and
 * the time the cache then spends filling its spare checkout, after the clone has returned and before the next is timed.
 * With --profile, also the median time of each step of Regatta's cold and warm clones (src/git/cached-clone.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { createRepo } from '../src/dev/fleet';
import { startGitServer } from '../src/dev/git-server';
import { gitCacheSettled, type CloneStep } from '../src/git/cached-clone';
import { shallowClone } from '../src/git/workspace';
import { runChecked } from '../src/host/command';
import { benchmarkFiles } from './heavy-repo';
import { median, timed } from './timing';

const CACHE_BYTES = 2 ** 31;
const IDENTITY = ['-c', 'user.name=Bench', '-c', 'user.email=bench@regatta.invalid'];

/** Each step's duration, by step, over the clones `onStep` was given to. */
class StepTimes {
  private readonly samples = new Map<string, number[]>();
  private last = 0;

  start(): (step: CloneStep) => void {
    this.last = performance.now();
    return (step) => {
      const now = performance.now();
      if (!this.samples.has(step)) this.samples.set(step, []);
      this.samples.get(step)!.push(now - this.last);
      this.last = now;
    };
  }

  /** The time from the last step to the clone's return. */
  end(): void {
    this.start()('return' as CloneStep);
  }

  rows(): string[] {
    return [...this.samples].map(([step, ms]) => `${step}\t${median(ms).toFixed(1)}\t(${ms.length} clones)`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const profile = args.includes('--profile');
  const roundsArg = args.find((arg) => arg !== '--profile');
  const rounds = Number(roundsArg ?? 7);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds: expected a positive integer, got ${roundsArg}`);
  const steps = { cold: new StepTimes(), warm: new StepTimes() };
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-clone-bench-'));
  const bare = await createRepo(path.join(scratch, 'repos'), 'bench/heavy', benchmarkFiles());
  const server = await startGitServer({ root: path.join(scratch, 'repos') });
  let n = 0;
  const fresh = (name: string) => path.join(scratch, `${name}-${n++}`);
  try {
    const url = `${server.baseUrl}/bench/heavy.git`;
    const gitCache = { dir: fresh('warm-cache'), maxBytes: CACHE_BYTES };
    await shallowClone({ url, ref: 'main', dir: fresh('warm'), gitCache });
    await gitCacheSettled();
    const upstream = fresh('upstream');
    await runChecked('git', ['clone', '-q', bare, upstream]);
    const samples = {
      native: [] as number[],
      isomorphic: [] as number[],
      cold: [] as number[],
      warm: [] as number[],
      refill: [] as number[],
    };
    const fetched: number[] = [];
    // One of each per round, so a machine that gets busier or quieter during the run weighs on all alike.
    for (let round = 0; round < rounds; round++) {
      samples.native.push(
        await timed(() =>
          runChecked('git', ['clone', '-q', '--depth', '1', '--single-branch', '--no-tags', url, fresh('native')]),
        ),
      );
      samples.isomorphic.push(
        await timed(() =>
          git.clone({ fs, http, dir: fresh('iso'), url, ref: 'main', singleBranch: true, depth: 1, noTags: true }),
        ),
      );
      const emptyCache = { dir: fresh('cache'), maxBytes: CACHE_BYTES };
      samples.cold.push(
        await timed(async () => {
          const onStep = profile ? steps.cold.start() : undefined;
          await shallowClone({ url, ref: 'main', dir: fresh('cold'), gitCache: emptyCache, onStep });
          if (profile) steps.cold.end();
        }),
      );
      await gitCacheSettled();
      fs.writeFileSync(path.join(upstream, 'src/module-3/file-300.js'), `module.exports = ${round};\n`);
      await runChecked('git', [...IDENTITY, '-C', upstream, 'commit', '-qam', `round ${round}`]);
      await runChecked('git', ['-C', upstream, 'push', '-q', 'origin', 'HEAD:main']);
      samples.warm.push(
        await timed(async () => {
          const onStep = profile ? steps.warm.start() : undefined;
          fetched.push((await shallowClone({ url, ref: 'main', dir: fresh('warm'), gitCache, onStep })).objectsFetched);
          if (profile) steps.warm.end();
        }),
      );
      // The spare checkout is filled after the clone returns; the next clone is not timed until it is.
      samples.refill.push(await timed(gitCacheSettled));
    }
    const [native, isomorphic, cold, warm, refill] = [
      samples.native,
      samples.isomorphic,
      samples.cold,
      samples.warm,
      samples.refill,
    ].map(median);

    console.log(`median of ${rounds} rounds on ${os.hostname()} (${os.cpus().length} cores), 2,005-file repository`);
    console.log(['clone', 'ms', 'ratio to native'].join('\t'));
    const rows: [string, number][] = [
      ['native git clone --depth 1 (baseline)', native],
      ['isomorphic-git clone (before)', isomorphic],
      ['regatta cold (empty git cache)', cold],
      [`regatta warm (one new upstream commit; ${median(fetched)} objects fetched)`, warm],
    ];
    for (const [name, ms] of rows) console.log([name, ms.toFixed(1), (ms / native).toFixed(2)].join('\t'));
    console.log(["after a warm clone: filling the spare checkout, off the clone's path", refill.toFixed(1)].join('\t'));
    if (profile)
      for (const [kind, times] of Object.entries(steps)) {
        console.log(`\n${kind} clone, median ms of each step (each from the end of the one before)`);
        for (const row of times.rows()) console.log(row);
      }
  } finally {
    await server.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
