/**
 * An agent's request for more scope, approved by a human, re-executes the run with the widened scope: a new
 * ExecutionSpec (a new hash), the approved path writable although policy forbids it, the agent's budget what the
 * first execution left, and the campaign charged for both executions. Real sandboxes, a scripted model.
 */
import { temporal } from '@temporalio/proto';
import { defaultPayloadConverter } from '@temporalio/common';
import { createControlActivities } from '../activities/control';
import { createExecutionActivities } from '../activities/execution/execute-run';
import { artifactStoreFor } from '../src/artifacts';
import { loadConfig } from '../src/config';
import type { ExecutionSpec } from '../src/contracts';
import { hashSpec } from '../src/contracts/hash';
import { dockerClient } from '../src/sandbox/driver';
import { controlDeps } from '../src/workers/control-deps';
import { workspaceRootFor } from '../src/workers/execution-worker';
import { eventually } from './support/eventually';
import { startHarness, type RegattaHarness } from './support/harness';
import { startModelServer, type ModelServer } from './support/model-server';
import { fixtureRepo } from './support/stack';

const config = loadConfig();
// 1,000 prompt and 100 completion tokens at $2 and $8 per million: $0.0028 a turn.
const TURN_USD = 0.0028;
const usage = { prompt_tokens: 1000, completion_tokens: 100 };
let harness: RegattaHarness;
let model: ModelServer;

beforeAll(async () => {
  model = await startModelServer([
    {
      toolCalls: [
        {
          name: 'request_scope',
          arguments: {
            reason: 'CI pins Node 18; the upgrade needs Node 20 there',
            paths: ['.github/workflows/ci.yml'],
          },
        },
      ],
      usage,
    },
    {
      toolCalls: [
        {
          name: 'edit_file',
          arguments: { path: '.github/workflows/ci.yml', old_text: 'node-version: 18', new_text: 'node-version: 20' },
        },
      ],
      usage,
    },
    { toolCalls: [{ name: 'finish', arguments: { summary: 'CI now runs Node 20' } }], usage },
  ]);
  const execution = createExecutionActivities({
    docker: dockerClient(),
    artifacts: artifactStoreFor(config),
    image: config.sandboxImage,
    workspaceRoot: workspaceRootFor(config.home),
    model: {
      kind: 'endpoint',
      model: 'scripted-model',
      baseURL: model.baseURL,
      apiKey: 'sk-approvals-test',
      price: { inputPerMillion: 2, outputPerMillion: 8 },
    },
  });
  harness = await startHarness({
    controlActivities: createControlActivities(controlDeps(config)),
    executionActivities: execution,
  });
});
afterAll(async () => {
  await harness?.shutdown();
  await model?.close();
});

/** The specs the run executed, in order, read from its history. */
async function executedSpecs(runId: string): Promise<ExecutionSpec[]> {
  const history = await harness.client.temporal.workflow.getHandle(runId).fetchHistory();
  return (history.events ?? [])
    .filter(
      (e) =>
        e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'executeRun',
    )
    .map((e) =>
      defaultPayloadConverter.fromPayload<ExecutionSpec>(e.activityTaskScheduledEventAttributes!.input!.payloads![0]),
    );
}

it('an approved scope request re-executes the run with the widened scope, under a new spec hash', async () => {
  const target = await fixtureRepo(`fixtures/scope-${harness.unique}`, {
    'package.json':
      JSON.stringify({ name: 'scope', version: '1.0.0', private: true, scripts: { test: 'node test.js' } }, null, 2) +
      '\n',
    'test.js': "console.log('ok');\n",
    '.github/workflows/ci.yml':
      'jobs:\n  test:\n    steps:\n      - uses: actions/setup-node@v4\n        with:\n          node-version: 18\n',
  });
  const spec = {
    id: `scope-${harness.unique}`,
    title: 'Run CI on Node 20',
    taskType: 'agent_task' as const,
    targets: [target],
    steps: [{ recipe: 'command' as const, name: 'nothing deterministic to do', run: 'true' }],
    verify: { commands: ['npm test'] },
    agent: { task: 'Make CI run on Node 20.', mode: 'always' as const },
    preview: true,
  };
  await harness.client.startCampaign(spec);
  const [waiting] = await eventually(
    () => harness.client.listRuns(spec.id, { state: 'needs_approval' }),
    (runs) => runs.length === 1,
    300_000,
  );

  const approved = await harness.client.approveRun(spec.id, waiting.runId, 'alice', 'CI may change for this');
  expect(approved).toMatchObject({ state: 'executing' });
  await expect(harness.client.approveRun(spec.id, waiting.runId, 'bob')).rejects.toThrow(
    /not awaiting approval|already approved by alice/,
  );
  const result = await harness.client.campaignResult(spec.id);

  expect(result.runs[0]).toMatchObject({ state: 'changed' });
  const run = await harness.client.runStatus(waiting.runId);
  expect(run.events.map((e) => e.to)).toEqual(['pending', 'executing', 'needs_approval', 'executing', 'changed']);
  expect(run.events[3].note).toContain('approved by alice: path .github/workflows/ci.yml');
  expect(run.touchedFiles).toEqual(['.github/workflows/ci.yml']);

  const [first, second] = await executedSpecs(waiting.runId);
  expect(second.approvedScope).toEqual({ paths: ['.github/workflows/ci.yml'], commands: [], by: 'alice' });
  expect(hashSpec(second)).not.toBe(hashSpec(first));
  expect(run.specHash).toBe(hashSpec(second));
  expect(second.agent!.maxBudgetUsd).toBeCloseTo(first.agent!.maxBudgetUsd - TURN_USD, 6);
  // The second execution's agent is told what was approved.
  const secondPrompt = JSON.stringify(model.requests[1].body.messages?.[0]?.content);
  expect(secondPrompt).toContain('A reviewer approved your request for more scope: `.github/workflows/ci.yml`');
  // Both executions are charged: one turn, then two.
  expect(result.spentUsd).toBeCloseTo(3 * TURN_USD, 6);
}, 600_000);

it('refuses, without asking anyone, a scope request no approval may grant', async () => {
  const again = await startModelServer([
    {
      toolCalls: [
        { name: 'request_scope', arguments: { reason: 'needs the hooks', paths: ['.git/hooks/pre-commit'] } },
      ],
      usage,
    },
  ]);
  const execution = createExecutionActivities({
    docker: dockerClient(),
    artifacts: artifactStoreFor(config),
    image: config.sandboxImage,
    workspaceRoot: workspaceRootFor(config.home),
    model: {
      kind: 'endpoint',
      model: 'scripted-model',
      baseURL: again.baseURL,
      apiKey: 'sk-approvals-test',
      price: { inputPerMillion: 2, outputPerMillion: 8 },
    },
  });
  const own = await startHarness({
    controlActivities: createControlActivities(controlDeps(config)),
    executionActivities: execution,
  });
  try {
    const target = await fixtureRepo(`fixtures/scope-git-${own.unique}`, {
      'package.json': '{"name":"g","version":"1.0.0","private":true,"scripts":{"test":"true"}}\n',
    });
    const spec = {
      id: `scope-git-${own.unique}`,
      title: 'Install a hook',
      taskType: 'agent_task' as const,
      targets: [target],
      steps: [{ recipe: 'command' as const, run: 'true' }],
      verify: { commands: ['npm test'] },
      agent: { task: 'Install a pre-commit hook.', mode: 'always' as const },
      preview: true,
    };
    await own.client.startCampaign(spec);
    const result = await own.client.campaignResult(spec.id);
    expect(result.runs[0]).toMatchObject({
      state: 'failed',
      failure: {
        kind: 'policy',
        message:
          'scope request refused: the agent asked to write .git/hooks/pre-commit, inside .git, which no approval can allow',
      },
    });
    expect((await own.client.runStatus(result.runs[0].runId)).events.map((e) => e.to)).not.toContain('needs_approval');
  } finally {
    await own.shutdown();
    await again.close();
  }
}, 600_000);
