/** Requirement specifiers moved in the repository's own style, in requirements files, pyproject.toml and uv.lock. */
import { lockedVersion } from '../../src/ecosystems/python';
import { editPyproject, readPyprojectRequirements } from '../../src/ecosystems/python/pyproject';
import { editRequirementsFile, moveSpecifier, SpecifierError } from '../../src/ecosystems/python/requirements';

describe('a specifier moved to a new version', () => {
  it.each([
    ['==2.13.0', '==3.0.4'],
    ['>=2.13', '>=3.0.4'],
    ['~=2.13', '~=3.0'],
    ['~=2.13.0', '~=3.0.4'],
    ['>=2.1,<4', '>=3.0.4,<4'],
    ['>=2.1, !=2.5.0, <4', '>=3.0.4, !=2.5.0, <4'],
    ['', ''],
  ])('%j becomes %j', (before, after) => {
    expect(moveSpecifier(before, '3.0.4')).toBe(after);
  });

  it('is refused when its upper bound excludes the version, naming the bound', () => {
    expect(() => moveSpecifier('>=2.1,<3', '3.0.4')).toThrow(SpecifierError);
    expect(() => moveSpecifier('>=2.1,<3', '3.0.4')).toThrow('its upper bound <3 excludes 3.0.4');
  });
});

it('edits only the matching requirement of a requirements file, by its normalised name, keeping extras, markers and comments', () => {
  const text = [
    '# runtime',
    '-r base.txt',
    'Semver[extra]==2.13.0 ; python_version >= "3.9"  # tags',
    'semver-tools==0.1.0',
    'requests>=2.31',
    '',
  ].join('\n');
  const edit = editRequirementsFile('requirements.txt', text, 'semver', '3.0.4');
  expect(edit.after).toBe(text.replace('Semver[extra]==2.13.0', 'Semver[extra]==3.0.4'));
  expect(edit.moves).toEqual([
    {
      from: 'Semver[extra]==2.13.0 ; python_version >= "3.9"  # tags',
      to: 'Semver[extra]==3.0.4 ; python_version >= "3.9"  # tags',
    },
  ]);
  expect(editRequirementsFile('requirements.txt', text, 'flask', '3.0.0').moves).toEqual([]);
});

describe('pyproject.toml', () => {
  const pyproject = [
    '[project]',
    'name = "pricing"',
    'dependencies = [',
    '    "semver>=2.13,<4",  # tags',
    "    'requests>=2.31',",
    ']',
    'keywords = ["semver==1.0"]',
    '',
    '[project.optional-dependencies]',
    'cli = ["semver~=2.13", "click>=8"]',
    '',
    '[tool.other]',
    'dependencies = ["semver==2.0.0"]',
    '',
  ].join('\n');

  it('moves the package in project.dependencies and optional dependencies, and nowhere else', () => {
    const edit = editPyproject('pyproject.toml', pyproject, 'semver', '3.0.4');
    expect(edit.after).toBe(
      pyproject.replace('"semver>=2.13,<4"', '"semver>=3.0.4,<4"').replace('"semver~=2.13"', '"semver~=3.0"'),
    );
    expect(edit.moves.map((m) => m.to)).toEqual(['semver>=3.0.4,<4', 'semver~=3.0']);
  });

  it('reads the requirements of its dependency tables', () => {
    expect(readPyprojectRequirements(pyproject).map((r) => `${r.name}${r.specifier}`)).toEqual([
      'semver>=2.13,<4',
      'requests>=2.31',
      'semver~=2.13',
      'click>=8',
    ]);
  });
});

it('reads the version uv.lock records for a package', () => {
  const lock = [
    'version = 1',
    '',
    '[[package]]',
    'name = "pricing"',
    'version = "1.0.0"',
    '',
    '[[package]]',
    'name = "semver"',
    'version = "3.0.4"',
    'source = { registry = "https://index.example.test/simple" }',
    '',
  ].join('\n');
  expect(lockedVersion(lock, 'Semver')).toBe('3.0.4');
  expect(lockedVersion(lock, 'requests')).toBeUndefined();
});
