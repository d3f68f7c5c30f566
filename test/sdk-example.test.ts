/** The SDK from another TypeScript project: compiled against dist/ (types and code), run against the dev server. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createControlActivities } from '../activities/control';
import { loadConfig } from '../src/config';
import { startHarness, type RegattaHarness } from './support/harness';
import { scriptedExecution } from './support/scripted-execution';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');
const tsc = path.join(root, 'node_modules', '.bin', 'tsc');
let harness: RegattaHarness;

beforeAll(async () => {
  harness = await startHarness({
    controlActivities: createControlActivities({}),
    executionActivities: scriptedExecution(() => ({})).activities,
  });
  await run(tsc, ['-p', path.join(root, 'tsconfig.build.json')], { cwd: root });
}, 300_000);
afterAll(async () => harness?.shutdown());

function exampleProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-sdk-example-'));
  for (const file of ['package.json', 'tsconfig.json', 'start-campaign.ts'])
    fs.copyFileSync(path.join(root, 'examples/sdk', file), path.join(dir, file));
  // What `npm install` makes of the example's `file:../..` dependency: a link to the Regatta checkout.
  fs.mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true });
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'regatta'));
  fs.symlinkSync(path.join(root, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'));
  return dir;
}

it('a separate project compiles against dist/ and starts a campaign through the SDK', async () => {
  const dir = exampleProject();
  await run(tsc, ['-p', dir], { cwd: dir });
  expect(fs.existsSync(path.join(dir, 'dist', 'start-campaign.js'))).toBe(true);

  const campaignId = `sdk-example-${harness.unique}`;
  const env = {
    ...process.env,
    REGATTA_CONTROL_QUEUE: harness.queues.control,
    REGATTA_EXECUTION_QUEUE: harness.queues.execution,
  };
  const { stdout } = await run('node', [path.join(dir, 'dist', 'start-campaign.js'), campaignId], { cwd: dir, env });
  expect(stdout).toContain(
    `started ${campaignId}: ${loadConfig().temporal.uiUrl}/namespaces/default/workflows/campaign%2F${campaignId}`,
  );

  const result = await harness.client.campaignResult(campaignId);
  expect(result.runs.map((r) => [r.repo, r.state])).toEqual([['acme/catalog', 'changed']]);
}, 300_000);
