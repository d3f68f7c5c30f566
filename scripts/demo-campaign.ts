/**
 * The demo campaign: the local fleet's services rename a helper (a deterministic step), verify with `npm test`
 * in the sandbox, and publish through the local forge. Production-critical services wait for an approval,
 * which the demo gives as a named operator so the whole lifecycle shows.
 */
import { RegattaClient, type CampaignSpecInput } from '../src/client';
import { readStackInfo } from '../src/dev/stack';
import { FLEET_RENAME } from '../src/dev/fleet';

const DEMO_OPERATOR = 'demo-operator';

async function main(): Promise<void> {
  const stack = readStackInfo();
  const client = await RegattaClient.connect();
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const spec: CampaignSpecInput = {
    id: `demo-rename-${stamp}`,
    title: `Rename ${FLEET_RENAME.find} to ${FLEET_RENAME.replace}`,
    taskType: 'codemod',
    requestedBy: process.env.USER ?? 'demo',
    targets: stack.targets,
    steps: [{ recipe: 'replace', name: 'rename helper', files: [...FLEET_RENAME.files], find: FLEET_RENAME.find, replace: FLEET_RENAME.replace }],
    verify: { commands: ['npm test'] },
    maxConcurrentRuns: 2,
  };

  const started = await client.startCampaign(spec);
  console.log(`campaign ${started.campaignId} started over ${stack.targets.length} repositories`);
  console.log(`Web UI: ${started.uiUrl}`);

  const approved = new Set<string>();
  for (;;) {
    const progress = await client.campaignProgress(spec.id!);
    for (const run of await client.listRuns(spec.id!, { state: 'needs_approval' })) {
      if (approved.has(run.runId)) continue;
      console.log(`${run.repo} needs approval (policy); approving as ${DEMO_OPERATOR}`);
      await client.approveRun(spec.id!, run.runId, DEMO_OPERATOR, 'approved by the demo script');
      approved.add(run.runId);
    }
    const moving = (progress.counts.pending ?? 0) + (progress.counts.executing ?? 0) + (progress.counts.needs_approval ?? 0) + (progress.counts.publishing ?? 0);
    if (progress.admitted === progress.total && moving === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }

  const result = await client.campaignResult(spec.id!);
  console.log('\noutcomes:');
  for (const run of result.runs) {
    const detail = run.failure ? `${run.failure.kind}: ${run.failure.message}` : (run.changeRequestUrl ?? '');
    console.log(`  ${run.repo.padEnd(22)} ${run.state.padEnd(14)} ${detail}`);
  }
  console.log(`\nWeb UI: ${started.uiUrl}`);
  console.log(`runs with their RunState: npx regatta runs list --campaign ${spec.id}`);
  console.log(`the campaign's workflows: temporal workflow list --query "CampaignId='${spec.id}'"`);
  for (const state of Object.keys(result.counts)) {
    console.log(`  ${state.padEnd(12)} temporal workflow list --query "CampaignId='${spec.id}' AND RunState='${state}'"`);
  }
  await client.close();
  if (result.counts.failed) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
