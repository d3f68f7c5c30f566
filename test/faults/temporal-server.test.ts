/**
 * Fault: the Temporal dev server is SIGKILLed while every run of a campaign is executing, and started again from its
 * SQLite file. It is this test's own server (own ports, own file) with its own control and execution worker processes;
 * workers and sandboxes ride out the outage and the campaign ends as it would have without the fault.
 */
import {
  driveCampaign,
  expectRecovered,
  reportRecovery,
  startFaultWorkers,
  type CampaignOutcome,
  type FaultWorkers,
} from './fault-campaign';
import { OwnTemporalServer } from './own-temporal';

const DOWN_MS = 5_000;
let server: OwnTemporalServer;
let workers: FaultWorkers;

beforeAll(async () => {
  server = await OwnTemporalServer.start();
  workers = await startFaultWorkers(server.endpoint);
}, 180_000);
afterAll(async () => {
  await workers?.stop();
  await server?.kill();
});

it('a Temporal server killed mid-campaign and restarted from its SQLite file loses no run, duplicates no change request and leaves no sandbox', async () => {
  const faultFree: CampaignOutcome = await driveCampaign(workers, 'temporal-baseline');

  const outcome = await driveCampaign(workers, 'temporal-killed', async (campaign) => {
    await campaign.everyRunExecuting();
    const killedAt = Date.now();
    await server.kill();
    await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
    await server.restart();
    return { killedAt, restartedAt: Date.now() };
  });

  reportRecovery('Temporal dev server SIGKILL', outcome, faultFree);
  await expectRecovered(outcome, faultFree, workers.client);
}, 900_000);
