/**
 * The local S3 artifact store: versitygw serving <home>/s3 on loopback, with credentials generated once
 * and kept in <home>/s3-credentials.json (mode 0600), never on a command line.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { portFromEnv, runningService, servicePaths, startService, waitUntil } from './processes';

export const ARTIFACT_STORE_SERVICE = 'versitygw';
export const ARTIFACT_STORE_PORT = portFromEnv('REGATTA_S3_PORT', 7070);
export const ARTIFACT_BUCKET = 'regatta-artifacts';

export interface ArtifactStoreInfo {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface ArtifactStoreStatus {
  healthy: boolean;
  endpoint: string;
  startedByUs: boolean;
  error?: string;
}

function loadOrCreateCredentials(home: string): { accessKeyId: string; secretAccessKey: string } {
  const file = path.join(home, 's3-credentials.json');
  if (fs.existsSync(file))
    return JSON.parse(fs.readFileSync(file, 'utf8')) as { accessKeyId: string; secretAccessKey: string };
  const credentials = {
    accessKeyId: `regatta${randomBytes(6).toString('hex')}`,
    secretAccessKey: randomBytes(24).toString('base64url'),
  };
  fs.mkdirSync(home, { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  return credentials;
}

export function artifactStoreInfo(home: string, port = ARTIFACT_STORE_PORT): ArtifactStoreInfo {
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    bucket: ARTIFACT_BUCKET,
    ...loadOrCreateCredentials(home),
  };
}

export function s3ClientFor(info: ArtifactStoreInfo): S3Client {
  // The SDK warns on every Node 20 process; the architecture pins Node 20 deliberately.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    endpoint: info.endpoint,
    region: info.region,
    forcePathStyle: true,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
  });
}

async function bucketReachable(info: ArtifactStoreInfo, createIfMissing: boolean): Promise<boolean> {
  const s3 = s3ClientFor(info);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: info.bucket }), { abortSignal: AbortSignal.timeout(2_000) });
    return true;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404 || !createIfMissing) throw err;
    await s3.send(new CreateBucketCommand({ Bucket: info.bucket }), { abortSignal: AbortSignal.timeout(5_000) });
    return true;
  } finally {
    s3.destroy();
  }
}

export async function ensureArtifactStore(
  home: string,
  versitygwBinary: string,
): Promise<ArtifactStoreStatus & { info: ArtifactStoreInfo }> {
  const info = artifactStoreInfo(home);
  if (await bucketReachable(info, true).catch(() => false))
    return { healthy: true, endpoint: info.endpoint, startedByUs: false, info };
  if (!runningService(home, ARTIFACT_STORE_SERVICE) && (await portAnswers(info.endpoint))) {
    throw new Error(
      `${info.endpoint} answers but refuses this stack's credentials (another stack's artifact store?): stop it, or set REGATTA_S3_PORT`,
    );
  }
  const dataDir = path.join(home, 's3');
  fs.mkdirSync(dataDir, { recursive: true });
  const record = startService(home, {
    name: ARTIFACT_STORE_SERVICE,
    command: versitygwBinary,
    args: ['--port', `127.0.0.1:${ARTIFACT_STORE_PORT}`, 'posix', dataDir],
    env: { ...process.env, ROOT_ACCESS_KEY_ID: info.accessKeyId, ROOT_SECRET_ACCESS_KEY: info.secretAccessKey },
  });
  await waitUntil(() => bucketReachable(info, true), {
    what: `versitygw artifact store at ${info.endpoint}`,
    timeoutMs: 30_000,
    pid: record.pid,
    logFile: servicePaths(home, ARTIFACT_STORE_SERVICE).logFile,
  });
  return { healthy: true, endpoint: info.endpoint, startedByUs: true, info };
}

export async function artifactStoreStatus(home: string): Promise<ArtifactStoreStatus> {
  const info = artifactStoreInfo(home);
  try {
    await bucketReachable(info, false);
    return { healthy: true, endpoint: info.endpoint, startedByUs: false };
  } catch (err) {
    return {
      healthy: false,
      endpoint: info.endpoint,
      startedByUs: false,
      error: (err as Error).message || (err as Error).name,
    };
  }
}

async function portAnswers(url: string): Promise<boolean> {
  try {
    await (await fetch(url, { signal: AbortSignal.timeout(2_000) })).arrayBuffer();
    return true;
  } catch {
    return false;
  }
}
