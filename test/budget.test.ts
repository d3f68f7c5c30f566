/**
 * A campaign's budget holds with a real agent in real sandboxes: each run's agent is capped at what the campaign
 * reserved for it (runBudgetUsd, below the policy's cap), stops before a turn it cannot afford, and the campaign
 * never spends more than maxBudgetUsd; the targets it cannot afford are skipped for budget.
 */
import { createControlActivities } from '../activities/control';
import { createExecutionActivities } from '../activities/execution/execute-run';
import { artifactStoreFor } from '../src/artifacts';
import { loadConfig } from '../src/config';
import { dockerClient } from '../src/sandbox/driver';
import { controlDeps } from '../src/workers/control-deps';
import { workspaceRootFor } from '../src/workers/execution-worker';
import { startHarness, type RegattaHarness } from './support/harness';
import { startModelServer, type ModelServer } from './support/model-server';
import { fixtureRepo } from './support/stack';

const config = loadConfig();
// 1,000 prompt and 100 completion tokens at $2 and $8 per million: $0.0028 a turn.
const TURN_USD = 0.0028;
let harness: RegattaHarness;
let model: ModelServer;

beforeAll(async () => {
  // A model that never finishes: it reads the same file until something stops it.
  const turn = {
    toolCalls: [{ name: 'read_file', arguments: { path: 'src/sum.js' } }],
    usage: { prompt_tokens: 1000, completion_tokens: 100 },
  };
  model = await startModelServer(Array.from({ length: 60 }, () => turn));
  const execution = createExecutionActivities({
    docker: dockerClient(),
    artifacts: artifactStoreFor(config),
    image: config.sandboxImage,
    workspaceRoot: workspaceRootFor(config.home),
    model: {
      kind: 'endpoint',
      model: 'scripted-model',
      baseURL: model.baseURL,
      apiKey: 'sk-budget-test',
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

it('caps every run at its reservation and the campaign at its budget, skipping what it cannot afford', async () => {
  const targets = await Promise.all(
    ['a', 'b', 'c'].map((label) =>
      fixtureRepo(`fixtures/budget-${label}-${harness.unique}`, {
        'package.json':
          JSON.stringify(
            { name: `budget-${label}`, version: '1.0.0', private: true, scripts: { test: 'node test.js' } },
            null,
            2,
          ) + '\n',
        'src/sum.js': 'module.exports = (a, b) => a - b;\n',
        'test.js': "require('assert').strictEqual(require('./src/sum')(2, 3), 5);\n",
      }),
    ),
  );
  const spec = {
    id: `budget-${harness.unique}`,
    title: 'Make the test suite pass',
    taskType: 'agent_task' as const,
    targets,
    steps: [{ recipe: 'command' as const, name: 'nothing deterministic to do', run: 'true' }],
    verify: { commands: ['npm test'] },
    agent: { task: 'The test suite fails; fix the code so that `npm test` passes.' },
    maxConcurrentRuns: 3,
    maxBudgetUsd: 0.025,
    runBudgetUsd: 0.01,
    preview: true,
  };
  await harness.client.startCampaign(spec);
  const result = await harness.client.campaignResult(spec.id);

  const ran = result.runs.filter((r) => r.state !== 'skipped');
  // Two reservations of $0.01 fit in $0.025; a third only once the first two have settled, and then $0.0084 is left.
  expect(ran).toHaveLength(2);
  for (const run of ran) {
    expect(run).toMatchObject({
      state: 'failed',
      failure: { kind: 'budget', message: expect.stringContaining('$0.01 budget') },
    });
    expect(run.costUsd).toBeLessThanOrEqual(0.01);
    // Three turns are affordable; a fourth would take the run to $0.0112.
    expect(run.costUsd).toBeCloseTo(3 * TURN_USD, 6);
  }
  expect(result.spentUsd).toBeLessThanOrEqual(spec.maxBudgetUsd);
  expect(result.spentUsd).toBeCloseTo(6 * TURN_USD, 6);
  expect(result.runs.filter((r) => r.state === 'skipped')).toEqual([
    expect.objectContaining({ failure: expect.objectContaining({ kind: 'budget' }) }),
  ]);
  expect(result.stoppedReason).toMatch(/^budget: /);
  expect(model.requests).toHaveLength(6);
}, 600_000);
