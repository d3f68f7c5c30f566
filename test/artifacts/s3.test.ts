/** Artifacts in S3 through @aws-sdk/client-s3, against the stack's real versitygw. */
import { createHash, randomUUID } from 'node:crypto';
import { S3ArtifactStore } from '../../src/artifacts';
import { runArtifactKey } from '../../src/artifacts/store';
import { readStackInfo } from '../support/stack';

function store(): S3ArtifactStore {
  const info = readStackInfo().artifactStore;
  return new S3ArtifactStore({
    bucket: info.bucket,
    region: info.region,
    endpoint: info.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
  });
}

describe('S3 artifact store on versitygw', () => {
  it('round-trips a patch byte for byte, with the manifest entry matching what is stored', async () => {
    const s3 = store();
    const patch = Buffer.from(`diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-${randomUUID()}\n+new\n`);
    const key = runArtifactKey(`run/s3-${randomUUID().slice(0, 8)}/acme/catalog`, 1, 'patch.diff');
    const ref = await s3.put(key, patch, 'patch');
    expect(ref).toEqual({
      name: 'patch.diff',
      type: 'patch',
      uri: `s3://${readStackInfo().artifactStore.bucket}/${key}`,
      sha256: createHash('sha256').update(patch).digest('hex'),
      size: patch.length,
    });
    expect(await s3.get(ref.uri)).toEqual(patch);
    s3.destroy();
  });

  it('redacts secrets in text artifacts before they reach the bucket', async () => {
    const s3 = store();
    const ref = await s3.put(
      runArtifactKey(`run/s3-${randomUUID().slice(0, 8)}/acme/catalog`, 1, 'steps.log'),
      'token ghp_abcdefghijklmnopqrstuvwxyz0123456789 leaked\n',
      'log',
    );
    const stored = (await s3.get(ref.uri)).toString('utf8');
    expect(stored).toBe('token [REDACTED] leaked\n');
    expect(ref.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
    s3.destroy();
  });

  it('refuses URIs of another bucket', async () => {
    await expect(store().get('s3://someone-else/runs/x')).rejects.toThrow(/reads s3:\/\/regatta-artifacts\/… URIs/);
  });
});
