/** `regatta dev status` lists the stack's Python index mirror (proxpi), asked on its cache list, never its home page. */
import { loadConfig } from '../../src/config';
import { PROXPI_VERSION, pythonMirrorUrl } from '../../src/dev/python-mirror';
import { stackStatus } from '../../src/dev/stack';
import { hostPythonIndex } from '../../src/ecosystems/python/registry';

it('reports the Python mirror with its version and where its index comes from', async () => {
  const status = await stackStatus(loadConfig());
  const mirror = status.components.find((c) => c.name === 'python-mirror');
  expect(mirror).toMatchObject({ healthy: true, error: undefined });
  expect(mirror?.detail).toContain(`${pythonMirrorUrl()} (proxpi ${PROXPI_VERSION}, upstream: the host's pip index`);
  // The host's index is derived from pip's configuration, and the stack records the mirror it started.
  expect(hostPythonIndex()).toMatch(/^https?:\/\//);
  expect(status.info?.pythonMirror?.url).toBe(pythonMirrorUrl());
});
