/**
 * The organisation's TLS trust, given to every sandbox: one CA bundle (REGATTA_CA_BUNDLE, else the host's system
 * store) mounted read-only and named in every variable the usual tools read. Nothing else of the host goes in.
 */
import fs from 'node:fs';
import type { SandboxMount } from '../sandbox/driver';

/** Where Debian, Fedora/RHEL, openSUSE and Alpine keep the system bundle. */
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/ssl/cert.pem',
];
export const SANDBOX_CA_PATH = '/etc/regatta/ca-bundle.pem';

export interface CaBundle {
  /** The host file, or undefined when trust is withheld (REGATTA_CA_BUNDLE=none). */
  hostPath?: string;
  source: 'REGATTA_CA_BUNDLE' | 'system' | 'none';
}

export function caBundleFromEnv(env: NodeJS.ProcessEnv = process.env): CaBundle {
  const setting = env.REGATTA_CA_BUNDLE?.trim();
  if (setting === 'none') return { source: 'none' };
  if (setting) {
    if (!fs.existsSync(setting))
      throw new Error(
        `REGATTA_CA_BUNDLE is "${setting}", which does not exist; expected a PEM file of CA certificates, or "none"`,
      );
    return { hostPath: setting, source: 'REGATTA_CA_BUNDLE' };
  }
  const system = SYSTEM_BUNDLES.find((file) => fs.existsSync(file));
  return system ? { hostPath: system, source: 'system' } : { source: 'none' };
}

/** The mount and environment that make Node, npm, git, curl, OpenSSL and pip trust the bundle. */
export function sandboxTrust(bundle: CaBundle): { mounts: SandboxMount[]; env: Record<string, string> } {
  if (!bundle.hostPath) return { mounts: [], env: {} };
  const env = Object.fromEntries(
    [
      'NODE_EXTRA_CA_CERTS',
      'npm_config_cafile',
      'SSL_CERT_FILE',
      'GIT_SSL_CAINFO',
      'PIP_CERT',
      'REQUESTS_CA_BUNDLE',
    ].map((name) => [name, SANDBOX_CA_PATH]),
  );
  return { mounts: [{ hostPath: fs.realpathSync(bundle.hostPath), containerPath: SANDBOX_CA_PATH }], env };
}

export function describeCaBundle(bundle: CaBundle): string {
  return bundle.hostPath
    ? `${bundle.hostPath} (${bundle.source === 'system' ? "the host's system store" : 'REGATTA_CA_BUNDLE'})`
    : 'none (sandboxes trust only their image)';
}
