/**
 * Services of other ecosystems for the local fleet's tests, served by the stack's git server: each has a real
 * dependency the registry holds and a test suite of its own, and a newer version of that dependency breaks
 * something small that a `replace` step fixes.
 */
import type { Target } from '../../src/contracts';
import { createRepo } from '../../src/dev/fleet';
import { readStackInfo } from './stack';

/** go.sum lines of github.com/google/uuid, as `go mod tidy` writes them (content hashes from the checksum database). */
const UUID_SUMS: Record<string, string> = {
  'v1.4.0': [
    'github.com/google/uuid v1.4.0 h1:MtMxsa51/r9yyhkyLsVeVt0B+BGQZzpQiTQ4eHZ8bc4=',
    'github.com/google/uuid v1.4.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=',
  ].join('\n'),
  'v1.5.0': [
    'github.com/google/uuid v1.5.0 h1:1p67kYwdtXjb0gL0BPiP1Av9wiZPo5A8z2cWkTZ+eyU=',
    'github.com/google/uuid v1.5.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=',
  ].join('\n'),
};

/**
 * A Go service on github.com/google/uuid `uuidVersion`. It dot-imports uuid and declares its own `Validate`, which
 * uuid v1.5.0 also declares: the upgrade fails to compile until `Validate(` is renamed.
 */
export function goServiceFiles(uuidVersion: 'v1.4.0' | 'v1.5.0', goLine = '1.26'): Record<string, string> {
  return {
    'go.mod': `module example.com/acme/inventory\n\ngo ${goLine}\n\nrequire github.com/google/uuid ${uuidVersion}\n`,
    'go.sum': `${UUID_SUMS[uuidVersion]}\n`,
    'main.go': [
      'package main',
      '',
      'import (',
      '\t"fmt"',
      '',
      '\t. "github.com/google/uuid"',
      ')',
      '',
      '// Validate reports whether id is an identifier the inventory accepts.',
      'func Validate(id string) error {',
      '\t_, err := Parse(id)',
      '\treturn err',
      '}',
      '',
      'func main() {',
      '\tfmt.Println(New().String())',
      '}',
      '',
    ].join('\n'),
    'main_test.go': [
      'package main',
      '',
      'import (',
      '\t"testing"',
      '',
      '\t. "github.com/google/uuid"',
      ')',
      '',
      'func TestValidateAcceptsANewID(t *testing.T) {',
      '\tif err := Validate(New().String()); err != nil {',
      '\t\tt.Fatalf("a new id was refused: %v", err)',
      '\t}',
      '}',
      '',
      'func TestValidateRefusesGarbage(t *testing.T) {',
      '\tif err := Validate("not-an-id"); err == nil {',
      '\t\tt.Fatal("garbage was accepted")',
      '\t}',
      '}',
      '',
    ].join('\n'),
  };
}

/** A fresh repository holding exactly `files` (no Node service under it), as a campaign target. */
export async function ecosystemRepo(name: string, files: Record<string, string>, owner = 'inventory'): Promise<Target> {
  const stack = readStackInfo();
  await createRepo(stack.fleetRoot, name, files, { branch: 'main' });
  return { repo: name, url: `${stack.gitBaseUrl}/${name}.git`, ref: 'main', owner };
}

/**
 * A Python service on semver `version` (requirements.txt pins it, pyproject.toml gives a range), tested with pytest.
 * It calls `VersionInfo.isvalid`, which semver 3 renamed `is_valid`: the upgrade fails its tests until that is renamed.
 */
export function pythonServiceFiles(version: '2.13.0' | '3.0.4'): Record<string, string> {
  const major = version.split('.')[0];
  return {
    'requirements.txt': `# the pricing service's runtime dependencies\nsemver==${version}  # release tags\n`,
    'pyproject.toml': [
      '[project]',
      'name = "pricing"',
      'version = "1.0.0"',
      'requires-python = ">=3.9"',
      'dependencies = [',
      `    "semver>=${version},<${Number(major) + 2}",`,
      ']',
      '',
      '[tool.pytest.ini_options]',
      'testpaths = ["tests"]',
      '',
    ].join('\n'),
    '.gitignore': ['.venv/', '__pycache__/', '.pytest_cache/', 'test-results/', ''].join('\n'),
    'pricing/__init__.py': '',
    'pricing/release.py': [
      'import semver',
      '',
      '',
      'def is_release_tag(tag: str) -> bool:',
      '    """Whether a git tag names a release the price list may ship with."""',
      `    return semver.VersionInfo.${major === '2' ? 'isvalid' : 'is_valid'}(tag.lstrip("v"))`,
      '',
    ].join('\n'),
    'tests/test_release.py': [
      'from pricing.release import is_release_tag',
      '',
      '',
      'def test_a_semver_tag_is_a_release():',
      '    assert is_release_tag("v1.2.3")',
      '',
      '',
      'def test_a_nightly_tag_is_not():',
      '    assert not is_release_tag("nightly")',
      '',
    ].join('\n'),
  };
}
