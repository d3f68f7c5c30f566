/**
 * Tells a registry the sandbox could not reach (TLS trust, DNS, connection) from a command that simply failed, so such
 * a run is reported as `infra` with the host and the cause, not blamed on the step, the agent or the repository's tests.
 */
const CAUSES: ReadonlyArray<{ code: RegExp; cause: string }> = [
  {
    code: /SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|self[- ]signed certificate/i,
    cause:
      'the certificate chain ends in a CA the sandbox does not trust (set REGATTA_CA_BUNDLE to a bundle that has it)',
  },
  {
    code: /UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|unable to get (local )?issuer certificate/i,
    cause:
      'the certificate was issued by a CA the sandbox does not trust (set REGATTA_CA_BUNDLE to a bundle that has it)',
  },
  {
    code: /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify the first certificate/i,
    cause:
      "the certificate cannot be verified against the sandbox's CA bundle (set REGATTA_CA_BUNDLE to a bundle that has its CA)",
  },
  { code: /CERT_HAS_EXPIRED|certificate has expired/i, cause: "the registry's certificate has expired" },
  {
    code: /ERR_TLS_CERT_ALTNAME_INVALID|Hostname\/IP does not match/i,
    cause: "the registry's certificate does not name its host",
  },
  { code: /ENOTFOUND|EAI_AGAIN|getaddrinfo/i, cause: 'its name does not resolve' },
  { code: /ECONNREFUSED/i, cause: 'the connection was refused' },
  { code: /ECONNRESET|socket hang up/i, cause: 'the connection was reset' },
  { code: /ETIMEDOUT|ESOCKETTIMEDOUT/i, cause: 'the connection timed out' },
];

/** npm and pnpm name the URL they were fetching ("request to https://host/pkg failed, reason: …"). */
const REQUEST_URL = /request to (https?:\/\/[^\s,]+) failed|GET (https?:\/\/[^\s]+)|fetch(?:ing)? (https?:\/\/[^\s]+)/i;

export interface RegistryFault {
  host: string;
  cause: string;
  message: string;
}

/** The registry fault a failed command's output shows, if any. */
export function registryFault(output: string): RegistryFault | undefined {
  const found = CAUSES.find((c) => c.code.test(output));
  if (!found) return undefined;
  const match = REQUEST_URL.exec(output);
  const url = match?.[1] ?? match?.[2] ?? match?.[3];
  let host = 'the package registry';
  if (url) {
    try {
      host = new URL(url).host;
    } catch {
      // An unparsable URL leaves the generic name.
    }
  }
  const code = found.code.exec(output)?.[0] ?? '';
  return { host, cause: found.cause, message: `cannot reach ${host}: ${code} (${found.cause})` };
}
