/** What the control plane's activities need, from configuration: policy, artifacts, forge, commit author. */
import path from 'node:path';
import type { ControlActivityDeps } from '../../activities/control';
import { artifactStoreFor } from '../artifacts';
import type { RegattaConfig } from '../config';
import { GitHubForge } from '../forges/github';
import { LocalForge } from '../forges/local';

export function controlDeps(config: RegattaConfig): ControlActivityDeps {
  const artifacts = artifactStoreFor(config);
  return {
    policyFile: config.policyFile,
    artifacts,
    publish: {
      artifacts,
      forge: config.forge.kind === 'github' ? new GitHubForge(config.forge) : new LocalForge(path.join(config.home, 'forge', 'local')),
      author: config.commitAuthor,
      runUiUrl: (runId) => `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(runId)}`,
    },
  };
}
