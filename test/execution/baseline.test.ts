/**
 * The baseline in the execution plane: the verify commands on the untouched base in the run's own sandbox (real
 * Docker, a repository over smart HTTP), compared with verification after the change, and cached per base commit.
 */
import { ExecutionResult } from '../../src/contracts';
import { dateLibrary } from '../support/node-suite';
import {
  addFixtureRepo,
  command,
  readArtifact,
  runExecuteRun,
  specFor,
  startExecutionFixture,
  type ExecutionFixture,
} from './fixture';

let fixture: ExecutionFixture;

beforeAll(async () => {
  fixture = await startExecutionFixture();
});
afterAll(async () => {
  await fixture?.close();
});

const VERIFY = { commands: ['npm test'] };
/** The events of the verify command running on the base: none when the baseline came from the cache. */
async function baselineCommandEvents(result: ExecutionResult): Promise<{ name: string }[]> {
  const events = JSON.parse(await readArtifact(fixture, result, 'events.json')) as { name: string }[];
  return events.filter((e) => e.name === 'baseline: npm test');
}

describe('the baseline', () => {
  it('reports a failure the base already had as pre-existing and passes, then reads the baseline from the cache', async () => {
    const repo = await addFixtureRepo(fixture, 'acme/dates', dateLibrary('dates', { dateBug: true }), 'master');
    const fixGreeting = command("sed -i 's/Helo/Hello/' src/greet.js", 'fix the greeting');

    const { result: first } = await runExecuteRun(
      fixture.deps,
      specFor(repo.url, [fixGreeting], { repo, verify: VERIFY }),
    );
    expect(() => ExecutionResult.parse(first)).not.toThrow();
    expect(first.outcome).toBe('changed');
    expect(first.touchedFiles).toEqual(['src/greet.js']);
    expect(first.verification).toMatchObject({
      verdict: 'passed',
      baseline: { commit: first.baseCommit, testsRun: 3, failed: 1, cached: false },
      preExisting: ['formats dates'],
    });
    expect(first.verification.summary).toContain(
      `1 failure pre-existing on ${first.baseCommit!.slice(0, 12)}: formats dates`,
    );
    expect(await baselineCommandEvents(first)).toHaveLength(1);
    expect(first.durations?.baselineMs).toBeGreaterThan(0);

    const { result: second } = await runExecuteRun(
      fixture.deps,
      specFor(repo.url, [fixGreeting], { repo, verify: VERIFY }),
    );
    expect(second.verification).toMatchObject({
      verdict: 'passed',
      baseline: { commit: first.baseCommit, testsRun: 3, failed: 1, cached: true },
      preExisting: ['formats dates'],
    });
    expect(await baselineCommandEvents(second)).toEqual([]);
    console.log(
      `baseline cost: ${first.durations?.baselineMs} ms run, ${second.durations?.baselineMs} ms cached; verification ${first.durations?.verifyMs} ms`,
    );
  });

  it('fails verification for a change that runs fewer tests than the base, naming both counts', async () => {
    const repo = await addFixtureRepo(
      fixture,
      'acme/dates-trunk',
      dateLibrary('dates-trunk', { dateBug: false }),
      'trunk',
    );
    const spec = specFor(repo.url, [command('rm test/sum.test.js', 'drop a test')], { repo, verify: VERIFY });

    const { result } = await runExecuteRun(fixture.deps, spec);

    expect(result.verification).toMatchObject({
      verdict: 'failed',
      baseline: { testsRun: 3, failed: 0, cached: false },
      baselineFindings: ['the change lowers tests executed from 3 to 2'],
    });
    expect(result.verification.summary).toMatch(/^the change lowers tests executed from 3 to 2; /);
  });

  it('still fails verification for a failure the change introduces beside a pre-existing one', async () => {
    const repo = await addFixtureRepo(
      fixture,
      'acme/dates-new',
      dateLibrary('dates-new', { dateBug: true, lockfile: true }),
      'master',
    );
    const spec = specFor(repo.url, [command("sed -i 's/a + b/a - b/' src/sum.js", 'break sum')], {
      repo,
      verify: VERIFY,
    });

    const { result } = await runExecuteRun(fixture.deps, spec);

    expect(result.verification).toMatchObject({ verdict: 'failed', baseline: { testsRun: 3, failed: 1 } });
    expect(result.verification.preExisting).toBeUndefined();
    expect(result.verification.commands[0].tests?.failedTests?.sort()).toEqual(['adds numbers', 'formats dates']);
  });

  it('runs no baseline when the campaign turns it off', async () => {
    const repo = await addFixtureRepo(fixture, 'acme/dates-off', dateLibrary('dates-off', { dateBug: true }), 'master');
    const spec = specFor(repo.url, [command("sed -i 's/Helo/Hello/' src/greet.js")], {
      repo,
      verify: { ...VERIFY, baseline: false },
    });

    const { result } = await runExecuteRun(fixture.deps, spec);

    expect(result.verification.verdict).toBe('failed');
    expect(result.verification.baseline).toBeUndefined();
    expect(result.durations?.baselineMs).toBeUndefined();
  });
});
