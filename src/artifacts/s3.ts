/** Artifacts in S3 (or any S3-compatible store: endpoint and path-style addressing come from configuration). */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ArtifactRef } from '../contracts';
import { artifactName, prepareBody, type ArtifactStore, type ArtifactType } from './store';

export interface S3StoreOptions {
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export class S3ArtifactStore implements ArtifactStore {
  private readonly client: S3Client;

  constructor(private readonly options: S3StoreOptions) {
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      credentials: options.credentials,
    });
  }

  async put(key: string, body: string | Buffer, type: ArtifactType): Promise<ArtifactRef> {
    const { bytes, sha256 } = prepareBody(body);
    await this.client.send(
      new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: bytes, Metadata: { sha256, type } }),
    );
    return { name: artifactName(key), type, uri: this.uriFor(key), sha256, size: bytes.length };
  }

  uriFor(key: string): string {
    return `s3://${this.options.bucket}/${key}`;
  }

  async get(uri: string): Promise<Buffer> {
    const prefix = `s3://${this.options.bucket}/`;
    if (!uri.startsWith(prefix)) throw new Error(`this store reads ${prefix}… URIs, got ${uri}`);
    const out = await this.client.send(
      new GetObjectCommand({ Bucket: this.options.bucket, Key: uri.slice(prefix.length) }),
    );
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  destroy(): void {
    this.client.destroy();
  }
}
