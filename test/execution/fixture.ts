/**
 * The real execution plane for tests: a bare repository served by `git http-backend`, Docker sandboxes from
 * the configured image, and a local artifact store in a scratch directory.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import type Docker from 'dockerode';
import { createExecutionActivities, type ExecutionDeps } from '../../activities/execution/execute-run';
import { LocalArtifactStore } from '../../src/artifacts/local';
import { loadConfig } from '../../src/config';
import type { ExecutionResult, ExecutionSpec, Step } from '../../src/contracts';
import { createRepo } from '../../src/dev/fleet';
import { startGitServer, type GitServer } from '../../src/dev/git-server';
import { dockerClient, MANAGED_LABEL, RUN_LABEL } from '../../src/sandbox/driver';

export const FIXTURE_FILES: Record<string, string> = {
  '.gitignore': 'node_modules/\n',
  'README.md': '# widget\n\nCall oldName() to get a label.\n',
  'src/index.js': ["const { oldName } = require('./label');", '', 'module.exports = () => oldName(1);', ''].join('\n'),
  'src/label.js': [
    'function oldName(n) {',
    '  return `widget-${n}`;',
    '}',
    '',
    'module.exports = { oldName };',
    '',
  ].join('\n'),
  'test.js': "const assert = require('assert');\nassert.strictEqual(require('./src/index.js')(), 'widget-1');\n",
};

export interface ExecutionFixture {
  root: string;
  repoUrl: string;
  git: GitServer;
  docker: Docker;
  artifacts: LocalArtifactStore;
  deps: ExecutionDeps;
  /** The sandbox image every test uses; REGATTA_SANDBOX_IMAGE overrides it. */
  image: string;
  close(): Promise<void>;
}

export async function startExecutionFixture(): Promise<ExecutionFixture> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-exec-'));
  await createRepo(path.join(root, 'repos'), 'acme/widget', FIXTURE_FILES);
  const git = await startGitServer({ root: path.join(root, 'repos') });
  const docker = dockerClient();
  const artifacts = new LocalArtifactStore(path.join(root, 'artifacts'));
  const image = loadConfig().sandboxImage;
  const deps: ExecutionDeps = {
    docker,
    artifacts,
    image,
    workspaceRoot: path.join(root, 'workspaces'),
    identity: 'test-execution',
    cloneRetryDelaysMs: [100, 200],
  };
  return {
    root,
    repoUrl: `${git.baseUrl}/acme/widget.git`,
    git,
    docker,
    artifacts,
    deps,
    image,
    close: async () => {
      await git.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

let runCounter = 0;

/** An ExecutionSpec as the control plane builds one, with a run id unique to this test process. */
export function specFor(repoUrl: string, steps: Step[], overrides: Partial<ExecutionSpec> = {}): ExecutionSpec {
  runCounter += 1;
  return {
    specVersion: 1,
    runId: `run/exec-test-${process.pid}-${runCounter}/acme/widget`,
    campaignId: `exec-test-${process.pid}-${runCounter}`,
    repo: { name: 'acme/widget', url: repoUrl, ref: 'main' },
    steps,
    verify: { commands: [] },
    network: 'none',
    limits: {
      runTimeoutMs: 120_000,
      commandTimeoutMs: 30_000,
      maxOutputBytes: 64 * 1024,
      memoryBytes: 256 * 1024 * 1024,
      nanoCpus: 1_000_000_000,
      pids: 128,
    },
    allowedPaths: ['**'],
    forbiddenPaths: [],
    maxPatchFiles: 50,
    policy: { version: 'test@1', hash: 'test-policy-hash' },
    ...overrides,
  };
}

export function command(run: string, name?: string): Step {
  return { recipe: 'command', run, ...(name ? { name } : {}) };
}

export interface ActivityRun {
  result: ExecutionResult;
  heartbeats: unknown[];
}

/** Calls executeRun in a real activity context, as a worker would on the given attempt. */
export async function runExecuteRun(deps: ExecutionDeps, spec: ExecutionSpec, attempt = 1): Promise<ActivityRun> {
  const env = new MockActivityEnvironment({ attempt });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  const { executeRun } = createExecutionActivities(deps);
  const result: ExecutionResult = await env.run(executeRun, spec);
  return { result, heartbeats };
}

export async function containersOfRun(docker: Docker, runId: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${MANAGED_LABEL}=true`, `${RUN_LABEL}=${runId}`] } });
}

export async function readArtifact(fixture: ExecutionFixture, result: ExecutionResult, name: string): Promise<string> {
  const ref = result.manifest.artifacts.find((a) => a.name === name);
  if (!ref) throw new Error(`no artifact ${name} in ${result.manifest.artifacts.map((a) => a.name).join(', ')}`);
  return (await fixture.artifacts.get(ref.uri)).toString('utf8');
}

/** One more repository on the fixture's git server, on the branch real repositories name their default. */
export async function addFixtureRepo(
  fixture: ExecutionFixture,
  name: string,
  files: Record<string, string>,
  branch = 'main',
): Promise<ExecutionSpec['repo']> {
  await createRepo(path.join(fixture.root, 'repos'), name, files, { branch });
  return { name, url: `${fixture.git.baseUrl}/${name}.git`, ref: branch };
}
