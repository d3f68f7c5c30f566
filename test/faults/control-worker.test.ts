/**
 * Fault: the control worker process (workflows and control activities) is SIGKILLed while every run of a campaign is
 * executing, and started again. Runs finish in their sandboxes meanwhile; the new process replays the workflows and
 * the campaign ends as it would have without the fault.
 */
import {
  driveCampaign,
  expectRecovered,
  reportRecovery,
  startFaultWorkers,
  type CampaignOutcome,
  type FaultWorkers,
} from './fault-campaign';

const DOWN_MS = 5_000;
let workers: FaultWorkers;

beforeAll(async () => {
  workers = await startFaultWorkers();
});
afterAll(async () => workers?.stop());

it('a control worker killed mid-campaign and restarted loses no run, duplicates no change request and leaves no sandbox', async () => {
  const faultFree: CampaignOutcome = await driveCampaign(workers, 'control-baseline');

  const outcome = await driveCampaign(workers, 'control-killed', async (campaign) => {
    await campaign.everyRunExecuting();
    const killedAt = Date.now();
    await workers.control.kill();
    await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
    workers.control.restart();
    return { killedAt, restartedAt: Date.now() };
  });

  reportRecovery('control worker SIGKILL', outcome, faultFree);
  await expectRecovered(outcome, faultFree, workers.client);
}, 900_000);
