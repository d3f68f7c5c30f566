/** One place that turns configuration into a Temporal connection: dev server, self-hosted cluster or Temporal Cloud. */
import { Client, Connection } from '@temporalio/client';
import type { RegattaConfig } from '../config';

export async function connectTemporalClient(config: RegattaConfig['temporal']): Promise<Client> {
  const connection = await Connection.connect({
    address: config.address,
    tls: config.tls ? {} : undefined,
    apiKey: config.apiKey,
  });
  return new Client({ connection, namespace: config.namespace });
}
