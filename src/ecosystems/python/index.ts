/**
 * Python: requirements files and pyproject.toml say the version (uv.lock, where there is one, what is installed);
 * `python-upgrade` moves it keeping the specifier style; uv comes from PyPI into the host's toolchain cache and
 * Python is the sandbox image's python3; the index is pip's as the host configures it, served to sandboxes by the
 * dev stack's proxpi mirror (or any index REGATTA_PYTHON_INDEX names) through the egress proxy, read-only; pytest
 * reports through its JUnit XML (`--junitxml`), which the verification report already reads.
 */
import type { Ecosystem } from '../types';
import { readPyprojectRequirements } from './pyproject';
import { pythonRegistry } from './registry';
import { declaredVersion, normalizeName, parseRequirement } from './requirements';
import { preparePythonToolchain } from './toolchain';
import { lockedVersion } from './uv-lock';

export { lockedVersion };

export const pythonEcosystem: Ecosystem = {
  name: 'python',
  recipeName: 'python-upgrade',
  manifestFiles: ['pyproject.toml', 'requirements.txt'],
  async readCurrentVersion(read, pkg) {
    const [requirements, pyproject, uvLock] = [
      await read('requirements.txt'),
      await read('pyproject.toml'),
      await read('uv.lock'),
    ];
    if (requirements === undefined && pyproject === undefined)
      throw new Error('neither requirements.txt nor pyproject.toml is in the repository');
    const declared = [
      ...(requirements ?? '').split('\n').flatMap((line) => parseRequirement(line) ?? []),
      ...(pyproject ? readPyprojectRequirements(pyproject) : []),
    ].find((r) => normalizeName(r.name) === normalizeName(pkg));
    const installed = uvLock ? lockedVersion(uvLock, pkg) : undefined;
    // A bare `semver` admits any version: nothing to compare, so it counts as declared with no version.
    const spec = declared ? declared.specifier || '*' : undefined;
    return {
      ...(spec ? { declared: declaredVersion(spec) ?? spec } : {}),
      ...(installed ? { installed } : {}),
    };
  },
  prepareToolchain: preparePythonToolchain,
  registry: pythonRegistry,
};
