/**
 * `npm run test:cluster`: the suite's end-to-end paths a second time, on the real Temporal cluster
 * (`regatta dev up --cluster`), plus the tests only a cluster has. `npm test` keeps the dev server.
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  testMatch: [
    '<rootDir>/test/skeleton.test.ts',
    '<rootDir>/test/dependency-upgrade.test.ts',
    '<rootDir>/test/approvals.test.ts',
    '<rootDir>/test/failover.test.ts',
    '<rootDir>/test/cluster/**/*.cluster-test.ts',
  ],
  testTimeout: 300_000,
  globalSetup: '<rootDir>/test/support/cluster-global-setup.ts',
  testSequencer: '<rootDir>/test/support/cluster-faults-last-sequencer.js',
};
