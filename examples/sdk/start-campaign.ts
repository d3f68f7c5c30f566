/**
 * Using Regatta from another project: build Regatta (`npm run build` in its root), then here
 * `npm install && npm run build && npm start`. Connection settings come from the environment
 * (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY), so the same code talks to the dev server,
 * a self-hosted cluster or Temporal Cloud.
 */
import { CampaignNotFoundError, InvalidSpecError, RegattaClient, type CampaignSpecInput } from 'regatta';

async function main(): Promise<void> {
  const client = await RegattaClient.connect();
  try {
    const spec: CampaignSpecInput = {
      id: process.argv[2] ?? 'sdk-example',
      title: 'Rename oldName to newName (preview from the SDK example)',
      targets: [{ repo: 'acme/catalog', url: 'http://127.0.0.1:8480/acme/catalog.git', ref: 'main' }],
      steps: [{ recipe: 'replace', files: ['src/**/*.js'], find: 'oldName', replace: 'newName' }],
      preview: true,
    };
    const started = await client.startCampaign(spec);
    console.log(`${started.started ? 'started' : 'found'} ${started.campaignId}: ${started.uiUrl}`);
    const runs = await client.listRuns(started.campaignId);
    console.log(`${runs.length} run(s) listed so far`);
  } catch (err) {
    if (err instanceof InvalidSpecError) console.error(`fix the spec:\n${err.message}`);
    else if (err instanceof CampaignNotFoundError) console.error(err.message);
    else throw err;
    process.exitCode = 2;
  } finally {
    await client.close();
  }
}

void main();
