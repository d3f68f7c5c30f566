/**
 * What a sandbox may ask of a package registry: reads only. Shared by the egress proxy (every plain-HTTP registry a
 * sandbox reaches) and the host's registry mirror, so a hostile repository can neither register, log in, publish,
 * unpublish, move a dist-tag nor mint a token, whatever method or path spelling it tries.
 */
const READ_METHODS = new Set(['GET', 'HEAD']);

/** npm registry endpoints that change state or hand out credentials even when asked with GET. */
const WRITE_ENDPOINTS: ReadonlyArray<{ pattern: RegExp; what: string }> = [
  { pattern: /^\/-\/user\//, what: 'user registration and login' },
  { pattern: /^\/-\/v1\/login/, what: 'web login' },
  { pattern: /^\/-\/v1\/done/, what: 'web login' },
  { pattern: /^\/-\/npm\/v1\/user/, what: 'user profile' },
  { pattern: /^\/-\/npm\/v1\/tokens/, what: 'access tokens' },
  { pattern: /^\/-\/package\/[^/]+(\/[^/]+)?\/dist-tags/, what: 'dist-tags' },
  { pattern: /^\/-\/package\/[^/]+(\/[^/]+)?\/access/, what: 'package access' },
  { pattern: /^\/-\/(org|team)\//, what: 'organisations and teams' },
  { pattern: /^\/-\/whoami/, what: 'identity' },
  { pattern: /\/-rev\//, what: 'unpublish' },
];

/** Why a request to a registry is refused, or undefined when it is a plain read. */
export function registryWriteRefusal(method: string | undefined, rawPath: string): string | undefined {
  const verb = (method ?? '').toUpperCase();
  if (!READ_METHODS.has(verb))
    return `${verb || 'a request without a method'} is a write; registries are read-only from a sandbox (GET and HEAD only)`;
  const path = normalisePath(rawPath);
  const endpoint = WRITE_ENDPOINTS.find((e) => e.pattern.test(path));
  return endpoint ? `${endpoint.what} (${path}) is refused: registries are read-only from a sandbox` : undefined;
}

/** Decodes escapes and folds repeated slashes, so `/%2D/user/x` or `//-/user/x` is judged as `/-/user/x`. */
function normalisePath(rawPath: string): string {
  let path = rawPath.split('?')[0] ?? '';
  try {
    path = decodeURIComponent(path);
  } catch {
    // A malformed escape is judged as written.
  }
  return path.replace(/\/{2,}/g, '/').toLowerCase();
}
