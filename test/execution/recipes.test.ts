/** Recipes run inside the sandbox and their effect arrives as a patch. */
import { readArtifact, runExecuteRun, specFor, startExecutionFixture, type ExecutionFixture } from './fixture';

let fixture: ExecutionFixture;

beforeAll(async () => {
  fixture = await startExecutionFixture();
});

afterAll(async () => {
  await fixture?.close();
});

describe('the replace recipe', () => {
  it('replaces literal text in the files its globs match, and nowhere else', async () => {
    const spec = specFor(fixture.repoUrl, [
      { recipe: 'replace', files: ['src/**/*.js'], find: 'oldName', replace: 'newName', regex: false },
    ]);
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result).toMatchObject({ outcome: 'changed', touchedFiles: ['src/index.js', 'src/label.js'] });
    expect(await readArtifact(fixture, result, 'patch.diff')).not.toContain('README.md');
    const events = JSON.parse(await readArtifact(fixture, result, 'events.json')) as {
      kind: string;
      detail?: string;
    }[];
    expect(events.find((e) => e.kind === 'step')?.detail).toBe('replaced in 2 file(s): src/index.js, src/label.js');
  });

  it('replaces by regular expression with capture groups', async () => {
    const spec = specFor(fixture.repoUrl, [
      { recipe: 'replace', files: ['README.md'], find: 'Call (\\w+)\\(\\)', replace: 'Use $1()', regex: true },
    ]);
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(await readArtifact(fixture, result, 'patch.diff')).toContain(
      '-Call oldName() to get a label.\n+Use oldName() to get a label.\n',
    );
  });

  it('reports no_changes when nothing matches', async () => {
    const spec = specFor(fixture.repoUrl, [
      { recipe: 'replace', files: ['docs/**'], find: 'oldName', replace: 'newName', regex: false },
    ]);
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(result.outcome).toBe('no_changes');
  });

  it('runs steps in order, each seeing what the one before it changed', async () => {
    const spec = specFor(fixture.repoUrl, [
      { recipe: 'replace', files: ['README.md'], find: 'oldName', replace: 'midName', regex: false },
      { recipe: 'command', run: "grep -q midName README.md && sed -i 's/midName/newName/' README.md" },
    ]);
    const { result } = await runExecuteRun(fixture.deps, spec);
    expect(await readArtifact(fixture, result, 'patch.diff')).toContain('+Call newName() to get a label.\n');
  });
});
