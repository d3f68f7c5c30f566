/** Fault tests run after every other test, and the one that kills the shared Docker engine runs last of all. */
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

const rank = (test) => {
  if (!test.path.includes(`${path.sep}faults${path.sep}`)) return 0;
  return path.basename(test.path) === 'docker-engine.test.ts' ? 2 : 1;
};

class FaultsLastSequencer extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = FaultsLastSequencer;
