/**
 * Private remotes: the execution plane clones with credentials from its own environment (a git credential-store
 * file), sends them only to the remote a line names, and says clearly what is wrong with a bad file.
 */
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cloneWithRetries } from '../../activities/execution/clone';
import { createRepo } from '../../src/dev/fleet';
import { startGitServer, type GitServer } from '../../src/dev/git-server';
import { parseCredentialStore } from '../../src/git/credentials';

let root: string;
let git: GitServer;
let front: http.Server;
let privateUrl: string;
const seenAuth: string[] = [];

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-private-'));
  await createRepo(path.join(root, 'repos'), 'acme/secret-service', { 'README.md': '# private\n' });
  git = await startGitServer({ root: path.join(root, 'repos') });
  const backend = new URL(git.baseUrl);
  // A forge that answers only with the right token, in front of the real git http-backend.
  front = http.createServer((req, res) => {
    seenAuth.push(req.headers.authorization ?? '');
    if (req.headers.authorization !== `Basic ${Buffer.from('x-access-token:s3cr3t-token').toString('base64')}`) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end();
      return;
    }
    const upstream = http.request(
      { host: backend.hostname, port: backend.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  privateUrl = `http://127.0.0.1:${(front.address() as net.AddressInfo).port}/acme/secret-service.git`;
});
afterAll(async () => {
  delete process.env.REGATTA_GIT_CREDENTIALS;
  await new Promise((resolve) => front?.close(resolve));
  await git?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

function cloneInto(name: string) {
  const dir = path.join(root, name);
  return cloneWithRetries({ url: privateUrl, ref: 'main', dir, gitdir: `${dir}.git` }, []);
}

it('clones a private remote with the token the credential file gives for its host', async () => {
  const file = path.join(root, 'credentials');
  const host = new URL(privateUrl).host;
  fs.writeFileSync(
    file,
    `# tokens for the execution plane\nhttp://someone:wrong@other.example/\nhttp://x-access-token:s3cr3t-token@${host}/acme\n`,
    { mode: 0o600 },
  );
  process.env.REGATTA_GIT_CREDENTIALS = file;
  const cloned = await cloneInto('with-token');
  expect(cloned.ok).toBe(true);
  expect(fs.readFileSync(path.join(root, 'with-token', 'README.md'), 'utf8')).toBe('# private\n');
});

it('without credentials for the remote, the clone fails naming the URL and the refusal', async () => {
  process.env.REGATTA_GIT_CREDENTIALS = path.join(root, 'other-credentials');
  fs.writeFileSync(process.env.REGATTA_GIT_CREDENTIALS, 'http://someone:token@other.example/\n');
  seenAuth.length = 0;
  const cloned = await cloneInto('without-token');
  expect(cloned).toEqual({
    ok: false,
    message: expect.stringMatching(new RegExp(`cannot clone ${privateUrl.replace(/[.]/g, '\\.')} at main: HTTP 401`)),
  });
  // The other host's token was never offered to this one.
  expect(seenAuth.some((h) => h.includes(Buffer.from('someone:token').toString('base64')))).toBe(false);
});

it('a malformed credential file is refused with the line and what was expected', () => {
  expect(() => parseCredentialStore('https://u:t@ok.example/\nnot a url\n', 'REGATTA_GIT_CREDENTIALS')).toThrow(
    'REGATTA_GIT_CREDENTIALS line 2: expected a URL like https://user:token@host',
  );
  expect(() => parseCredentialStore('https://nouser.example/\n', 'REGATTA_GIT_CREDENTIALS')).toThrow(
    'line 1: the URL for nouser.example carries no user or token',
  );
});
