/** Picks the artifact store the configuration names. */
import type { RegattaConfig } from '../config';
import { LocalArtifactStore } from './local';
import { S3ArtifactStore } from './s3';
import type { ArtifactStore } from './store';

export type { ArtifactStore } from './store';
export { LocalArtifactStore } from './local';
export { S3ArtifactStore } from './s3';

export function artifactStoreFor(config: RegattaConfig): ArtifactStore {
  const store = config.artifactStore;
  if (store.kind === 'local') return new LocalArtifactStore(config.artifactDir);
  return new S3ArtifactStore({
    bucket: store.bucket,
    region: store.region,
    endpoint: store.endpoint,
    forcePathStyle: store.forcePathStyle,
  });
}
