/**
 * Go modules: go.mod's require says the version; `go-upgrade` runs `go get` and `go mod tidy`; Go comes from the
 * module proxy into the host's toolchain cache; the proxy is `go env GOPROXY`'s, read-only through the egress proxy;
 * `go test -json` reports the tests.
 */
import type { Ecosystem } from '../types';
import { parseGoMod, requiredVersion } from './go-mod';
import { goRegistry } from './registry';
import { parseGoTestJson } from './test-json';
import { prepareGoToolchain } from './toolchain';

export const goEcosystem: Ecosystem = {
  name: 'go',
  recipeName: 'go-upgrade',
  manifestFiles: ['go.mod'],
  async readCurrentVersion(read, module) {
    const goMod = await read('go.mod');
    if (goMod === undefined) throw new Error('go.mod is not in the repository');
    const version = requiredVersion(parseGoMod(goMod), module);
    // go.mod's require is what builds use (minimal version selection): declared and installed are one version.
    return version ? { declared: version, installed: version } : {};
  },
  prepareToolchain: prepareGoToolchain,
  registry: goRegistry,
  testReport: { source: 'go-test-json', parse: parseGoTestJson },
};
