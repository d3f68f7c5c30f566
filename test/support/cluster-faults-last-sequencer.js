/** The cluster run: the suite's end-to-end paths first, then the cluster's own fault tests (they kill services). */
const Sequencer = require('@jest/test-sequencer').default;

const rank = (test) => (test.path.endsWith('.cluster-test.ts') ? 1 : 0);

class ClusterFaultsLastSequencer extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    return [...sorted].sort((a, b) => rank(a) - rank(b) || a.path.localeCompare(b.path));
  }
}

module.exports = ClusterFaultsLastSequencer;
