/** The execution-plane worker: runs sandboxes beside a Docker engine; holds no forge credentials. */
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createExecutionActivities, type ExecutionDeps } from '../../activities/execution/execute-run';
import { surveyDependency } from '../../activities/survey/survey-dependency';

export interface ExecutionWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ExecutionDeps;
  identity?: string;
}

export function executionActivities(deps: ExecutionDeps) {
  return { ...createExecutionActivities(deps), surveyDependency };
}

export async function createExecutionWorker(options: ExecutionWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    identity: options.identity,
    activities: executionActivities({ ...options.deps, identity: options.identity }),
    // Cancellation and lease loss reach an activity through heartbeats; send them promptly.
    maxHeartbeatThrottleInterval: '2 seconds',
  });
}

export function workspaceRootFor(home: string): string {
  return path.join(home, 'workspaces');
}
