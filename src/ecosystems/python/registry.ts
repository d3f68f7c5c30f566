/**
 * The Python package index as this host configures it (UV_INDEX_URL, PIP_INDEX_URL, pip's `global.index-url`, else
 * pip's own default), and the index sandboxes read: REGATTA_PYTHON_INDEX (the dev stack points it at its proxpi
 * mirror of the host's index) or the host's index itself. Sandboxes reach it at the egress proxy's read-only route.
 * An index whose pages link files on another host (as the public one does) needs the mirror: the proxy serves one
 * upstream, and a sandbox reaches nothing else.
 */
import { execFileSync } from 'node:child_process';
import type { EcosystemRegistry } from '../types';

let hostIndex: string | undefined;

function pipConfig(args: string[]): string | undefined {
  try {
    return (
      execFileSync('python3', ['-m', 'pip', ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** The index this host's pip and uv use. */
export function hostPythonIndex(env: NodeJS.ProcessEnv = process.env): string | undefined {
  hostIndex ??=
    env.UV_DEFAULT_INDEX ??
    env.UV_INDEX_URL ??
    env.PIP_INDEX_URL ??
    pipConfig(['config', 'get', 'global.index-url']) ??
    // pip's own default, from pip itself rather than written here.
    (() => {
      try {
        return execFileSync('python3', ['-c', 'from pip._internal.models.index import PyPI; print(PyPI.simple_url)'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim();
      } catch {
        return undefined;
      }
    })();
  return hostIndex;
}

export const pythonRegistry: EcosystemRegistry = {
  upstream: () => process.env.REGATTA_PYTHON_INDEX ?? hostPythonIndex(),
  sandboxEnv(routeUrl) {
    const index = `${routeUrl}/`;
    return { UV_DEFAULT_INDEX: index, UV_INDEX_URL: index, PIP_INDEX_URL: index };
  },
};
