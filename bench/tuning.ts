/**
 * The control worker's tuning, one lever at a time, on the stack's Temporal server:
 *   node --require tsx/cjs bench/tuning.ts [targets=500] [window=100]
 * Runs the same preview campaign (bench/preview-campaign.ts) with the SDK's defaults, then with each variant below
 * set alone, back to back, and prints each time against the defaults' time measured in the same run. A variant that
 * does not beat the defaults by more than the machine's noise is not worth a setting.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { previewCampaign } from './preview-campaign';

const [targets, window] = [Number(process.argv[2] ?? 500), Number(process.argv[3] ?? 100)];
if (!Number.isInteger(targets) || targets < 1 || !Number.isInteger(window) || window < 1) {
  throw new Error(
    `usage: bench/tuning.ts [targets] [window]; got targets "${process.argv[2]}", window "${process.argv[3]}": expected positive integers`,
  );
}

/** Each lever alone, at a value well away from the SDK's default (40 task slots, 2 pollers on this host's cache). */
const VARIANTS: Array<{ name: string; env: Record<string, string> }> = [
  { name: 'defaults', env: {} },
  { name: 'workflow task slots 4', env: { REGATTA_WORKFLOW_TASK_SLOTS: '4' } },
  { name: 'workflow task slots 200', env: { REGATTA_WORKFLOW_TASK_SLOTS: '200' } },
  { name: 'workflow pollers 8', env: { REGATTA_WORKFLOW_POLLERS: '8' } },
  { name: 'sticky cache 50 workflows', env: { REGATTA_CACHED_WORKFLOWS: '50' } },
  { name: 'control activity slots 8', env: { REGATTA_CONTROL_ACTIVITY_SLOTS: '8' } },
  { name: 'defaults again', env: {} },
];

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const times: Record<string, number> = {};
  for (const variant of VARIANTS) {
    const saved = { ...process.env };
    Object.assign(process.env, variant.env);
    try {
      const { ms, events } = await previewCampaign(targets, window);
      times[variant.name] = ms;
      const baseline = times.defaults!;
      console.log(
        `${variant.name.padEnd(28)} ${(ms / 1000).toFixed(1).padStart(7)} s  ${String(events).padStart(3)} events per run  ratio to defaults ${(ms / baseline).toFixed(2)}`,
      );
    } finally {
      for (const key of Object.keys(variant.env)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
