/** What the control plane's activities need, from configuration: policy, artifacts, forge, commit author. */
import type { ControlActivityDeps } from '../../activities/control';
import { modelProviderFromEnv } from '../agent/model-provider';
import { artifactStoreFor } from '../artifacts';
import type { RegattaConfig } from '../config';
import { forgeFor } from '../forges';
import { workflowUiUrl } from '../temporal/ids';

export function controlDeps(config: RegattaConfig): ControlActivityDeps {
  const artifacts = artifactStoreFor(config);
  return {
    policyFile: config.policyFile,
    artifacts,
    publish: {
      artifacts,
      forge: forgeFor(config),
      author: config.commitAuthor,
      runUiUrl: (runId) => workflowUiUrl(config.temporal.uiUrl, config.temporal.namespace, runId),
    },
    // Read when a judge is asked for, so a control plane without a model starts (and audits) without one.
    judgeModel: () => modelProviderFromEnv(),
  };
}
