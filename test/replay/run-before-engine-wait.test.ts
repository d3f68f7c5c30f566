/**
 * Runs recorded by the RunWorkflow that predates the Docker engine wait replay on today's code, so deploying it
 * never breaks a run in flight: one that executed, and one whose execution failed for want of an engine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { workflowBundle } from '../support/workflow-bundle';

const histories = path.join(__dirname, '..', 'fixtures', 'histories');

beforeAll(() => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Installed already by an earlier test file in this process.
  }
});

it.each(['engine-up', 'engine-down'])(
  'a run recorded before the engine wait (%s) replays without nondeterminism',
  async (name) => {
    // Recorded with `fetchHistory()` and stored as the binary protobuf, which needs no JSON mapping to read back.
    const history = temporal.api.history.v1.History.decode(
      fs.readFileSync(path.join(histories, `run-before-engine-wait-${name}.binpb`)),
    );

    await expect(
      Worker.runReplayHistory(
        { workflowBundle: await workflowBundle() },
        history,
        `run/before-engine-wait/acme/${name}`,
      ),
    ).resolves.toBeUndefined();
  },
);
