/** The rollout's state between waves, without a server: what admission waits on, and what advance and abort record. */
import { CampaignSpec, type CampaignSpecInput, type Target } from '../../src/contracts';
import { WaveRollout } from '../../workflows/waves';

const targets: Target[] = Array.from({ length: 5 }, (_, i) => ({
  repo: `acme/r${i}`,
  url: `http://git.example/acme/r${i}.git`,
  ref: 'main',
  owner: i < 2 ? 'web' : 'data',
}));
const spec = CampaignSpec.parse({
  id: 'roll',
  title: 't',
  targets,
  steps: [{ recipe: 'replace', files: ['a'], find: 'x', replace: 'y' }],
  rollout: {
    waves: [{ name: 'canary', size: 2, select: { owner: 'data' } }, { name: 'rest' }],
    gate: { minMerged: 1 },
  },
} satisfies CampaignSpecInput);

it('admits the first wave only, records who advanced or aborted it, and counts each ended run to its wave', () => {
  const { rollout, spec: ordered } = WaveRollout.start(spec, 5)!;
  expect(ordered.targets.slice(0, 2).map((t) => t.owner)).toEqual(['data', 'data']);
  expect(rollout.admissionBlocker(1)).toBeUndefined();
  expect(rollout.admissionBlocker(2)).toBe('wave canary is complete; its gate decides the next');

  rollout.admitted(ordered.targets[0]);
  rollout.record(
    { runId: 'a', repo: ordered.targets[0].repo, state: 'published', costUsd: 0.25, sandboxMs: 60_000 },
    1,
  );
  const now = Date.parse('2026-12-06T00:00:00Z');
  rollout.advance({ by: 'alice', reason: 'looks fine' }, now);
  expect(rollout.admissionBlocker(2)).toBeUndefined();
  const progress = rollout.progress(2, 0);
  expect(progress.waves[0]).toMatchObject({
    status: 'passed',
    spentUsd: 0.25,
    sandboxMs: 60_000,
    spentByOwner: { data: 0.25 },
    changes: [{ repo: ordered.targets[0].repo, branch: 'regatta/roll', base: 'main', owner: 'data' }],
    decision: { action: 'advanced', by: 'alice', reason: 'looks fine', at: '2026-12-06T00:00:00.000Z' },
  });
  expect(() => rollout.assertCanDecide('advanced')).toThrow(/last wave/);

  expect(rollout.abort({ by: 'bob', reason: 'reverts in canary' }, now)).toBe(
    'rollout aborted at wave rest by bob: reverts in canary',
  );
  expect(rollout.admissionBlocker(2)).toBe('rollout aborted by bob');
  expect(rollout.progress(2, 0)).toMatchObject({
    status: 'aborted',
    reason: 'rollout aborted by bob: reverts in canary',
  });
  expect(() => rollout.assertCanDecide('aborted')).toThrow(/aborted by bob/);
});
