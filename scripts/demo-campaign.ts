/**
 * The demo campaign: a real dependency upgrade across the local fleet. Each service moves to @acme/logger 2.x,
 * installed from the stack's Verdaccio inside the sandbox on the registry_only network; a deterministic step fixes
 * the breaking change (`log` became `info`; with a model configured, the agent takes whatever is left); the sandbox
 * verifies it; the local forge publishes. Production-critical services wait for an approval, which the demo gives
 * as a named operator so the whole lifecycle shows.
 */
import { RegattaClient, type CampaignSpecInput } from '../src/client';
import { readStackInfo } from '../src/dev/stack';
import { LOGGER_PACKAGE } from '../src/dev/internal-packages';

const DEMO_OPERATOR = 'demo-operator';

async function main(): Promise<void> {
  const stack = readStackInfo();
  const client = await RegattaClient.connect();
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const spec: CampaignSpecInput = {
    id: `demo-logger-2x-${stamp}`,
    title: `Upgrade ${LOGGER_PACKAGE} to 2.x`,
    taskType: 'dependency_upgrade',
    requestedBy: process.env.USER ?? 'demo',
    targets: stack.targets,
    steps: [
      { recipe: 'npm-upgrade', package: LOGGER_PACKAGE, version: '^2.0.0' },
      {
        recipe: 'replace',
        name: 'log became info in 2.0',
        files: ['src/**/*.js'],
        find: 'logger.log(',
        replace: 'logger.info(',
      },
    ],
    verify: { commands: ['npm ci --ignore-scripts --no-audit --no-fund', 'node src/index.js', 'npm test'] },
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
    const moving =
      (progress.counts.pending ?? 0) +
      (progress.counts.executing ?? 0) +
      (progress.counts.needs_approval ?? 0) +
      (progress.counts.publishing ?? 0);
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
    console.log(
      `  ${state.padEnd(12)} temporal workflow list --query "CampaignId='${spec.id}' AND RunState='${state}'"`,
    );
  }
  await client.close();
  if (result.counts.failed) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
