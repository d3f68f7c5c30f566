/**
 * An operator in the Temporal Web UI: headless Debian Chromium opens the dev server's workflow list filtered by
 * CampaignId and sees exactly that campaign's runs.
 */
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createControlActivities } from '../activities/control';
import { loadConfig } from '../src/config';
import { startHarness, type RegattaHarness } from './support/harness';
import { scriptedExecution } from './support/scripted-execution';
import { readStackInfo } from './support/stack';

const CHROMIUM = '/usr/bin/chromium';
let harness: RegattaHarness;
let browser: Browser;

beforeAll(async () => {
  harness = await startHarness({
    controlActivities: createControlActivities({}),
    executionActivities: scriptedExecution(() => ({})).activities,
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await harness?.shutdown();
});

async function runCampaign(id: string, repos: string[]): Promise<string> {
  const campaignId = `${id}-${harness.unique}`;
  const targets = readStackInfo().targets.filter((t) => repos.includes(t.repo));
  await harness.client.startCampaign({
    id: campaignId,
    title: 'Web UI listing',
    targets,
    steps: [{ recipe: 'command', run: 'true' }],
    preview: true,
  });
  await harness.client.campaignResult(campaignId);
  return campaignId;
}

it("lists a campaign's runs when the workflow list is filtered by CampaignId", async () => {
  const shown = await runCampaign('ui-listed', ['acme/catalog', 'acme/checkout']);
  const other = await runCampaign('ui-other', ['acme/notifications']);
  // Visibility is eventually consistent: wait until the server lists all three runs.
  for (let i = 0; i < 40 && (await harness.client.listRuns(shown)).length < 2; i++)
    await new Promise((r) => setTimeout(r, 250));

  const page = await browser.newPage();
  const query = encodeURIComponent(`CampaignId = '${shown}'`);
  await page.goto(`${loadConfig().temporal.uiUrl}/namespaces/default/workflows?query=${query}`);
  await page.getByText(`run/${shown}/acme/catalog`).first().waitFor({ timeout: 60_000 });
  await page.getByText(`run/${shown}/acme/checkout`).first().waitFor({ timeout: 10_000 });

  const body = await page.locator('body').innerText();
  expect(body).toContain(`campaign/${shown}`);
  expect(body).not.toContain(`run/${other}/`);
  await page.screenshot({ path: path.join(loadConfig().home, 'test', 'web-ui-campaign-filter.png'), fullPage: true });
  await page.close();
});
