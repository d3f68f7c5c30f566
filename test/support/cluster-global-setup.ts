/**
 * The cluster run's global setup: the local stack for everything but Temporal (git fleet, sandbox image,
 * artifact store, registries), then the real Temporal cluster, which every test then talks to.
 */
import { ensureCluster } from '../../src/dev/cluster';
import { ensureStack } from '../../src/dev/stack';
import { loadConfig } from '../../src/config';
import { prepareWorkflowBundle } from './workflow-bundle';

export default async function clusterGlobalSetup(): Promise<void> {
  const started = Date.now();
  const log = (message: string) => process.stderr.write(`[cluster] ${message}\n`);
  await ensureStack({ workers: false, log });
  const cluster = await ensureCluster(loadConfig().home, log);
  // Test files read the Temporal address through loadConfig(), so pointing the environment at the cluster is enough.
  process.env.TEMPORAL_ADDRESS = cluster.address;
  process.env.TEMPORAL_NAMESPACE = cluster.namespace;
  if (cluster.uiUrl) process.env.TEMPORAL_UI_URL = cluster.uiUrl;
  await prepareWorkflowBundle();
  log(`stack and cluster (${cluster.address}) ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}
