/**
 * Steps and verification over a mixed fleet: which ecosystems a checked-out repository uses (its root's manifest
 * files), which steps apply to it and why the others do not, which verify commands it runs, and the spec errors a
 * bad condition, command list or desired state gets.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  describeEcosystems,
  detectEcosystems,
  verifyCommandsFor,
  whyNotApplicable,
} from '../../activities/execution/applicability';
import { CampaignSpec, ScheduleSpec, type Step } from '../../src/contracts';
import { parseContract } from '../../src/contracts/validate';

const trees: string[] = [];
function treeWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-applicability-'));
  trees.push(dir);
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}
afterAll(() => trees.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

const goUpgrade: Step = { recipe: 'go-upgrade', module: 'github.com/google/uuid', version: 'v1.5.0' };
const goFix: Step = {
  recipe: 'replace',
  when: { ecosystem: ['go'] },
  files: ['**/*.go'],
  find: 'Validate(',
  replace: 'ValidateID(',
  regex: false,
};
const everywhere: Step = { recipe: 'command', run: 'make lint' };

it('a repository uses the ecosystems whose manifest files are at its root, and a symlink or a nested file does not count', () => {
  const tree = treeWith({
    'pyproject.toml': '',
    'requirements.txt': '',
    'tools/go.mod': 'module x\n',
    'README.md': '',
  });
  fs.symlinkSync('README.md', path.join(tree, 'pom.xml'));
  const found = detectEcosystems(tree);
  expect(found).toEqual([{ name: 'python', files: ['pyproject.toml', 'requirements.txt'] }]);
  expect(describeEcosystems(found)).toBe('python (pyproject.toml, requirements.txt)');
});

it('an upgrade recipe applies to repositories of its ecosystem, a `when` step to those it names, other steps everywhere', () => {
  const go = detectEcosystems(treeWith({ 'go.mod': 'module x\n' }));
  const python = detectEcosystems(treeWith({ 'requirements.txt': 'semver==2.13.0\n' }));
  expect([goUpgrade, goFix, everywhere].map((step) => whyNotApplicable(step, go))).toEqual([
    undefined,
    undefined,
    undefined,
  ]);
  expect(whyNotApplicable(goUpgrade, python)).toBe(
    'not applicable: go-upgrade is for go repositories (go.mod at the root) and this one uses python',
  );
  expect(whyNotApplicable(goFix, python)).toBe(
    'not applicable: the step is for go repositories and this one uses python',
  );
  expect(whyNotApplicable(everywhere, python)).toBeUndefined();
  expect(whyNotApplicable(goUpgrade, [])).toContain('and this one uses none');
});

it("a repository runs the plan's own verify commands, then those of each ecosystem it uses", () => {
  const plan = { commands: ['make check'], byEcosystem: { go: ['go test -json ./...'], npm: ['npm test'] } };
  const both = detectEcosystems(treeWith({ 'package.json': '{}', 'go.mod': 'module x\n' }));
  expect(verifyCommandsFor(plan, both)).toEqual(['make check', 'npm test', 'go test -json ./...']);
  expect(verifyCommandsFor(plan, detectEcosystems(treeWith({ 'pom.xml': '<project/>' })))).toEqual(['make check']);
});

it('a spec naming an unknown ecosystem, an empty command list or one ecosystem twice is refused naming the field and the value', () => {
  const campaign = {
    id: 'mixed',
    title: 'Mixed',
    targets: [{ repo: 'acme/x', url: 'http://127.0.0.1:8480/acme/x.git', ref: 'main' }],
    steps: [{ ...goFix, when: { ecosystem: ['rust'] } }],
    verify: { byEcosystem: { go: [] } },
  };
  expect(() => parseContract(CampaignSpec, campaign, 'campaign spec')).toThrow(
    /steps\.0\.when\.ecosystem\.0: got "rust"; expected: .*"npm"\|"go"\|"maven"\|"python"[\s\S]*verify\.byEcosystem\.go: got \[\]; expected at least one command/,
  );
  const schedule = {
    id: 'mixed',
    every: '7d',
    desired: [
      { ecosystem: 'go', package: 'github.com/google/uuid', atLeast: '1.5.0' },
      { ecosystem: 'go', package: 'golang.org/x/text', atLeast: '0.14.0' },
    ],
    campaign: { ...campaign, steps: [goUpgrade], verify: {} },
  };
  expect(() => parseContract(ScheduleSpec, schedule, 'schedule')).toThrow(
    'desired.1.ecosystem: got "go"; expected one desired dependency per ecosystem; "go" is named twice',
  );
});
