/**
 * A minimal smart-HTTP client for git's upload-pack (protocol v0/v1, which every git server speaks): list a
 * remote's refs, then ask for a pack of the objects wanted minus those the caller has. Credentials go only to
 * the remote they name (src/git/credentials.ts), and redirects are not followed, so they cannot be carried off.
 */
import http from 'node:http';
import https from 'node:https';
import { gitAuthFor } from './credentials';
import { FLUSH_PKT, packetText, pktLine, readPackets } from './pkt-line';

const AGENT = 'agent=regatta';
const keepAlive = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

export interface RemoteRefs {
  /** Ref name → commit (annotated tags are peeled: `refs/tags/v1^{}`). */
  refs: Map<string, string>;
  /** The branch the remote's HEAD points at, when it says. */
  headTarget?: string;
  capabilities: Set<string>;
}

export interface PackRequest {
  wants: string[];
  haves?: string[];
  /** Omit for a full fetch: the local server ignores haves when a depth is asked for. */
  depth?: number;
}

export interface PackResponse {
  pack: Buffer;
  /** Commits the server cut history at (their parents were not sent). */
  shallow: string[];
}

/** An HTTP answer other than 200, shaped as isomorphic-git's errors so callers can tell permanent from transient. */
export class GitHttpError extends Error {
  readonly code = 'HttpError';
  constructor(
    readonly url: string,
    readonly data: { statusCode: number; statusMessage: string },
  ) {
    super(`HTTP ${data.statusCode} ${data.statusMessage} from ${url}`);
  }
}

export class GitRefNotFoundError extends Error {
  readonly code = 'NotFoundError';
}

export async function discoverRefs(url: string): Promise<RemoteRefs> {
  const body = await request(url, 'GET', '/info/refs?service=git-upload-pack');
  const refs = new Map<string, string>();
  let capabilities = new Set<string>();
  let first = true;
  for (const { packet } of readPackets(body)) {
    if (!packet) continue;
    const line = packetText(packet);
    if (line.startsWith('#')) continue;
    const nul = line.indexOf('\0');
    const refPart = nul >= 0 ? line.slice(0, nul) : line;
    if (first && nul >= 0)
      capabilities = new Set(
        line
          .slice(nul + 1)
          .split(' ')
          .filter(Boolean),
      );
    first = false;
    const [oid, name] = refPart.split(' ');
    if (!/^[0-9a-f]{40}$/.test(oid ?? '') || !name) throw new Error(`${url}: malformed ref advertisement line`);
    if (name !== 'capabilities^{}') refs.set(name, oid);
  }
  const symref = [...capabilities].find((c) => c.startsWith('symref=HEAD:'));
  return { refs, headTarget: symref?.slice('symref=HEAD:'.length), capabilities };
}

export async function fetchPack(url: string, remote: RemoteRefs, wanted: PackRequest): Promise<PackResponse> {
  const caps = ['side-band-64k', 'ofs-delta', 'no-progress', AGENT];
  if (wanted.depth !== undefined) caps.push('shallow');
  const missing = caps.filter((c) => c !== AGENT && !remote.capabilities.has(c));
  if (missing.length) throw new Error(`${url}: the server lacks the capabilities ${missing.join(', ')}`);
  const lines = wanted.wants.map((oid, i) => pktLine(i === 0 ? `want ${oid} ${caps.join(' ')}\n` : `want ${oid}\n`));
  if (wanted.depth !== undefined) lines.push(pktLine(`deepen ${wanted.depth}\n`));
  lines.push(FLUSH_PKT);
  for (const oid of wanted.haves ?? []) lines.push(pktLine(`have ${oid}\n`));
  lines.push(pktLine('done\n'));
  const body = await request(url, 'POST', '/git-upload-pack', Buffer.concat(lines));
  return demultiplex(url, body);
}

/** Shallow lines, then ACK/NAK, then the pack on side-band 1 (2 is progress, 3 a fatal error). */
function demultiplex(url: string, body: Buffer): PackResponse {
  const shallow: string[] = [];
  const chunks: Buffer[] = [];
  for (const { packet } of readPackets(body)) {
    if (!packet || packet.length === 0) continue;
    const band = packet[0];
    if (band === 1) chunks.push(packet.subarray(1));
    else if (band === 3) throw new Error(`${url}: the server failed: ${packetText(packet.subarray(1))}`);
    else if (band === 2) continue;
    else {
      const line = packetText(packet);
      if (line.startsWith('shallow ')) shallow.push(line.slice('shallow '.length));
      else if (line.startsWith('ERR ')) throw new Error(`${url}: the server refused: ${line.slice(4)}`);
      else if (!/^(unshallow |ACK |NAK)/.test(line)) throw new Error(`${url}: unexpected line ${JSON.stringify(line)}`);
    }
  }
  if (!chunks.length) throw new Error(`${url}: the server sent no pack`);
  return { pack: Buffer.concat(chunks), shallow };
}

function request(remote: string, method: 'GET' | 'POST', suffix: string, body?: Buffer): Promise<Buffer> {
  const url = new URL(remote.replace(/\/+$/, '') + suffix);
  const headers: http.OutgoingHttpHeaders = { 'user-agent': 'git/regatta' };
  const credential = credentialFor(remote);
  if (credential) headers.authorization = `Basic ${Buffer.from(credential).toString('base64')}`;
  if (body) {
    headers['content-type'] = 'application/x-git-upload-pack-request';
    headers.accept = 'application/x-git-upload-pack-result';
    headers['content-length'] = body.length;
  }
  const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (!transport) throw new Error(`${remote}: only http and https remotes can be cloned`);
  const agent = url.protocol === 'https:' ? keepAlive.https : keepAlive.http;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode === 200) resolve(Buffer.concat(chunks));
        else
          reject(new GitHttpError(remote, { statusCode: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '' }));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** `user:password` for this remote from the credential store, or from the URL itself. */
function credentialFor(remote: string): string | undefined {
  const url = new URL(remote);
  if (url.username || url.password) return `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  const auth = gitAuthFor(remote);
  if (!auth) return undefined;
  const found = auth(remote, {}) as { username?: string; password?: string } | undefined;
  return found?.username || found?.password ? `${found.username ?? ''}:${found.password ?? ''}` : undefined;
}
