#!/usr/bin/env node
// Runs the TypeScript CLI directly, so `npx regatta` works in a fresh clone without a build step.
require('tsx/cjs');
require('../src/cli/main.ts');
