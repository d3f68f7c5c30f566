/**
 * An unreachable Docker engine is the worker's fault, not the run's: executeRun throws DockerEngineUnavailable (which
 * RunWorkflow waits out) instead of returning a failed run, and the next attempt removes what the dead one left.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import Docker from 'dockerode';
import { DOCKER_ENGINE_UNAVAILABLE } from '../../src/sandbox/engine';
import { startEngineProxy, type EngineProxy } from '../support/engine-proxy';
import { eventually } from '../support/eventually';
import {
  command,
  containersOfRun,
  runExecuteRun,
  specFor,
  startExecutionFixture,
  type ExecutionFixture,
} from './fixture';

let fixture: ExecutionFixture;
let proxy: EngineProxy;

beforeAll(async () => {
  fixture = await startExecutionFixture();
  proxy = await startEngineProxy();
});
afterAll(async () => {
  await proxy?.close();
  await fixture?.close();
});

async function engineFailureOf(run: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await run.then(
    (result) => {
      throw new Error(`expected DockerEngineUnavailable, the attempt returned ${JSON.stringify(result).slice(0, 300)}`);
    },
    (thrown: unknown) => thrown,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect((err as ApplicationFailure).type).toBe(DOCKER_ENGINE_UNAVAILABLE);
  return err as ApplicationFailure;
}

describe('executeRun without a Docker engine', () => {
  it('throws DockerEngineUnavailable naming the socket when nothing listens there, instead of returning a failed run', async () => {
    const socketPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-no-engine-')), 'docker.sock');
    const deps = { ...fixture.deps, docker: new Docker({ socketPath, version: 'v1.41' }) };

    const failure = await engineFailureOf(runExecuteRun(deps, specFor(fixture.repoUrl, [command('true')])));

    expect(failure.message).toContain(socketPath);
    expect(failure.message).toMatch(/unreachable|does not answer/);
  });

  it('throws DockerEngineUnavailable when the engine goes away mid-command, and the next attempt (same number) reaps the dead sandbox', async () => {
    const spec = specFor(fixture.repoUrl, [command('sleep 60 && echo late >> README.md', 'slow step')]);
    const deps = { ...fixture.deps, docker: proxy.docker };
    const attempt = runExecuteRun(deps, spec);
    await eventually(
      () => containersOfRun(fixture.docker, spec.runId),
      (containers) => containers.some((c) => c.State === 'running'),
      60_000,
    );

    await proxy.cut();
    const failure = await engineFailureOf(attempt);
    expect(failure.message).toContain(proxy.socketPath);
    // The engine behind the proxy never stopped: the dead attempt's sandbox is still there, as after a real outage.
    const left = await containersOfRun(fixture.docker, spec.runId);
    expect(left).toHaveLength(1);

    await proxy.restore();
    const retried = await runExecuteRun(deps, { ...spec, steps: [command('echo done >> README.md', 'quick step')] });
    expect(retried.result.outcome).toBe('changed');
    expect(retried.result.attempt).toBe(1);
    expect(await containersOfRun(fixture.docker, spec.runId)).toEqual([]);
  }, 120_000);
});
