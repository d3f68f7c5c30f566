/**
 * The stack's Python index mirror: proxpi (a maintained PyPI caching proxy, installed from the host's index at a
 * pinned version into <home>/python-mirror/venv). Chosen over devpi-server because it is one small process with no
 * server state to initialise, caches index pages and files on disk, and serves every file from itself with relative
 * links, so a sandbox that reaches only this mirror (through the egress proxy, read-only) can install anything the
 * host's index has. Its upstream is the host's configured index; started once, restarted when its settings change.
 */
import fs from 'node:fs';
import path from 'node:path';
import { hostPythonIndex } from '../ecosystems/python/registry';
import { runChecked } from '../host/command';
import { caBundleFromEnv } from '../registry/ca-bundle';
import { portFromEnv, runningService, servicePaths, startService, stopService, waitUntil } from './processes';
import { httpAnswers } from './temporal-server';

export const PYTHON_MIRROR_SERVICE = 'python-mirror';
export const PROXPI_VERSION = '1.3.1';
export const PYTHON_MIRROR_PORT = portFromEnv('REGATTA_PYTHON_MIRROR_PORT', 4875);

/** The mirror's index, as sandboxes' uv and pip are given it (through the egress proxy's route). */
export function pythonMirrorUrl(port = PYTHON_MIRROR_PORT): string {
  return `http://127.0.0.1:${port}/index`;
}

async function ensureProxpi(venv: string): Promise<string> {
  const python = path.join(venv, 'bin', 'python');
  const installed = fs.existsSync(python)
    ? await runChecked(python, ['-m', 'pip', 'show', 'proxpi']).then(
        (r) => /^Version: (.+)$/m.exec(r.stdout)?.[1],
        () => undefined,
      )
    : undefined;
  if (installed === PROXPI_VERSION) return python;
  if (!fs.existsSync(python)) await runChecked('python3', ['-m', 'venv', venv]);
  await runChecked(python, ['-m', 'pip', 'install', '--quiet', `proxpi==${PROXPI_VERSION}`]);
  return python;
}

export async function ensurePythonMirror(home: string): Promise<{ url: string }> {
  const url = pythonMirrorUrl();
  const upstream = hostPythonIndex();
  if (!upstream) throw new Error("no Python index is configured on this host (pip's global.index-url, PIP_INDEX_URL)");
  const ca = caBundleFromEnv();
  const fingerprint = JSON.stringify([PROXPI_VERSION, upstream, ca.hostPath ?? '', PYTHON_MIRROR_PORT]);
  const running = runningService(home, PYTHON_MIRROR_SERVICE);
  if (running && running.fingerprint !== fingerprint) await stopService(home, PYTHON_MIRROR_SERVICE);
  if (running?.fingerprint === fingerprint && (await mirrorAnswers())) return { url };
  const python = await ensureProxpi(path.join(home, 'python-mirror', 'venv'));
  const record = startService(home, {
    name: PYTHON_MIRROR_SERVICE,
    command: python,
    args: ['-m', 'flask', '--app', 'proxpi.server', 'run', '--host', '127.0.0.1', '--port', String(PYTHON_MIRROR_PORT)],
    env: {
      ...process.env,
      PROXPI_INDEX_URL: upstream.endsWith('/') ? upstream : `${upstream}/`,
      PROXPI_CACHE_DIR: path.join(home, 'python-mirror', 'cache'),
      // A file not fetched in time is answered with a redirect to the upstream, which a sandbox cannot follow: wait.
      PROXPI_DOWNLOAD_TIMEOUT: '300',
      ...(ca.hostPath ? { REQUESTS_CA_BUNDLE: ca.hostPath } : {}),
    },
    fingerprint,
  });
  await waitUntil(mirrorAnswers, {
    what: `Python index mirror at ${url}`,
    timeoutMs: 60_000,
    pid: record.pid,
    logFile: servicePaths(home, PYTHON_MIRROR_SERVICE).logFile,
  });
  return { url };
}

/** A route that answers (405 to a GET) without asking the upstream, as proxpi's home, index and health pages do. */
function mirrorAnswers(): Promise<boolean> {
  return httpAnswers(`http://127.0.0.1:${PYTHON_MIRROR_PORT}/cache/list`);
}

export interface PythonMirrorStatus {
  healthy: boolean;
  url: string;
  detail: string;
  error?: string;
}

/** Whether the mirror answers (asked on its cache list, never its home page), for `regatta dev status`. */
export async function pythonMirrorStatus(home: string): Promise<PythonMirrorStatus> {
  const url = pythonMirrorUrl();
  const healthy = await mirrorAnswers();
  const running = runningService(home, PYTHON_MIRROR_SERVICE);
  return {
    healthy,
    url,
    detail: `${url} (proxpi ${PROXPI_VERSION}, upstream: the host's pip index, read by sandboxes through the egress proxy${running ? `, pid ${running.pid}` : ''})`,
    error: healthy ? undefined : `no answer at http://127.0.0.1:${PYTHON_MIRROR_PORT}/cache/list`,
  };
}
