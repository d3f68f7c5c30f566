/**
 * Read credentials for private git remotes, from the execution worker's environment only (never a sandbox):
 * REGATTA_GIT_CREDENTIALS names a file in git's credential-store format, one `https://user:token@host[/path]` per
 * line; the longest matching prefix of a remote's URL wins. Nothing is sent to a remote no line names.
 */
import fs from 'node:fs';
import type { AuthCallback } from 'isomorphic-git';

interface Credential {
  prefix: URL;
  username: string;
  password: string;
}

export function parseCredentialStore(text: string, source: string): Credential[] {
  const credentials: Credential[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    let url: URL;
    try {
      url = new URL(line);
    } catch {
      throw new Error(`${source} line ${index + 1}: expected a URL like https://user:token@host, got something else`);
    }
    if (!url.username && !url.password)
      throw new Error(`${source} line ${index + 1}: the URL for ${url.host} carries no user or token`);
    credentials.push({
      prefix: new URL(`${url.protocol}//${url.host}${url.pathname.replace(/\/?$/, '/')}`),
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    });
  }
  return credentials;
}

function matching(credentials: Credential[], remote: string): Credential | undefined {
  let target: URL;
  try {
    target = new URL(remote);
  } catch {
    return undefined;
  }
  const path = target.pathname.endsWith('/') ? target.pathname : `${target.pathname}/`;
  return credentials
    .filter(
      (c) =>
        c.prefix.protocol === target.protocol && c.prefix.host === target.host && path.startsWith(c.prefix.pathname),
    )
    .sort((a, b) => b.prefix.pathname.length - a.prefix.pathname.length)[0];
}

let loaded: { file: string; credentials: Credential[] } | undefined;

/** isomorphic-git's onAuth for one remote, or undefined when the environment has nothing for it. */
export function gitAuthFor(remote: string, env: NodeJS.ProcessEnv = process.env): AuthCallback | undefined {
  const file = env.REGATTA_GIT_CREDENTIALS;
  if (!file) return undefined;
  if (loaded?.file !== file) {
    if (!fs.existsSync(file))
      throw new Error(
        `REGATTA_GIT_CREDENTIALS is "${file}", which does not exist; expected a git credential-store file`,
      );
    loaded = { file, credentials: parseCredentialStore(fs.readFileSync(file, 'utf8'), 'REGATTA_GIT_CREDENTIALS') };
  }
  const credential = matching(loaded.credentials, remote);
  return credential ? () => ({ username: credential.username, password: credential.password }) : undefined;
}
