/**
 * The Go module proxy as this host's `go env GOPROXY` names it (its first URL entry; `direct` and `off` are not
 * proxies), reached by sandboxes through the egress proxy's read-only route: GET and HEAD only, no VCS fallback
 * (the sandbox has no git, and `direct` would need the whole internet). go.sum entries are still checked: the
 * checksum database named by the host's GOSUMDB is read through the same proxy (`<GOPROXY>/sumdb/<name>/…`).
 */
import { execFileSync } from 'node:child_process';
import type { ImmutableArtifact } from '../../registry/artifact-cache';
import type { EcosystemRegistry } from '../types';

let hostEnv: Record<string, string> | undefined;

function goEnv(): Record<string, string> {
  if (!hostEnv) {
    try {
      hostEnv = JSON.parse(
        execFileSync('go', ['env', '-json', 'GOPROXY', 'GOSUMDB', 'GONOSUMDB', 'GOPRIVATE'], { encoding: 'utf8' }),
      ) as Record<string, string>;
    } catch {
      hostEnv = {};
    }
  }
  return hostEnv;
}

/** The first URL in a GOPROXY list (entries split by `,` or `|`). */
export function proxyFromGoproxy(goproxy: string): string | undefined {
  return goproxy
    .split(/[,|]/)
    .map((entry) => entry.trim())
    .find((entry) => /^https?:\/\//.test(entry));
}

/** `<module>/@v/<semver>.info|.mod|.zip`: a released version's files never change; lists, `@latest` and queries do. */
const GO_VERSION_FILE = /^[^?]+\/@v\/v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+incompatible)?\.(?:info|mod|zip)$/;

/** A Go proxy path the host may cache: a version's `.info`, `.mod` or `.zip` (go.sum checks the last two in the sandbox). */
export function goImmutableArtifact(registryPath: string): ImmutableArtifact | undefined {
  return GO_VERSION_FILE.test(registryPath) ? {} : undefined;
}

export const goRegistry: EcosystemRegistry = {
  immutableArtifact: goImmutableArtifact,
  upstream: () => proxyFromGoproxy(process.env.REGATTA_GO_PROXY ?? goEnv().GOPROXY ?? ''),
  sandboxEnv(routeUrl) {
    const { GOSUMDB, GONOSUMDB, GOPRIVATE } = goEnv();
    return {
      GOPROXY: routeUrl,
      ...(GOSUMDB ? { GOSUMDB } : {}),
      ...(GONOSUMDB ? { GONOSUMDB } : {}),
      ...(GOPRIVATE ? { GOPRIVATE } : {}),
    };
  },
};
