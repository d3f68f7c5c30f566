/** The control-plane worker: Regatta's workflows and control activities, never repository code. */
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { ControlTuning, RegattaConfig } from '../config';

// Resolves to workflows/index.ts from source and to the compiled index.js from a build.
export const WORKFLOWS_PATH = require.resolve('../../workflows');

export async function connectWorker(config: RegattaConfig['temporal']): Promise<NativeConnection> {
  return NativeConnection.connect({ address: config.address, tls: config.tls ? {} : undefined, apiKey: config.apiKey });
}

export interface ControlWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** A prebuilt bundle (tests build one per run); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkflowBundleOption;
  identity?: string;
  activities: object;
  /** Task slots, pollers and sticky cache (REGATTA_WORKFLOW_TASK_SLOTS and the like); the SDK's defaults otherwise. */
  tuning?: ControlTuning;
}

export async function createControlWorker(options: ControlWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    // The SDK refuses an identity given as undefined; absent, it makes one (pid@host).
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: options.activities,
    ...tuningOptions(options.tuning ?? {}),
  });
}

function tuningOptions(tuning: ControlTuning) {
  return {
    ...(tuning.workflowTaskSlots ? { maxConcurrentWorkflowTaskExecutions: tuning.workflowTaskSlots } : {}),
    ...(tuning.workflowPollers ? { maxConcurrentWorkflowTaskPolls: tuning.workflowPollers } : {}),
    ...(tuning.cachedWorkflows ? { maxCachedWorkflows: tuning.cachedWorkflows } : {}),
    ...(tuning.activitySlots ? { maxConcurrentActivityTaskExecutions: tuning.activitySlots } : {}),
  };
}
