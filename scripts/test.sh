#!/usr/bin/env bash
# `npm test`: installs what is missing (npm packages, host tools), checks formatting, lint and types, then runs the suite on the real local
# stack (jest's global setup brings it up), then the fault tests of test/faults/, then the cluster suite (test:cluster). Extra arguments go to one jest run
# instead, e.g. `npm test -- test/compose.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node-modules.sh

ensure_node_modules
node --require tsx/cjs src/dev/ensure-tools-main.ts --for-tests
# --forceExit: a suite's long-lived clients (Docker sockets, Temporal connections) must not keep a finished run alive.
jest=(npx jest --runInBand --forceExit)
if [ $# -gt 0 ]; then exec "${jest[@]}" "$@"; fi
# Formatting (prettier, width 120), lint and types first: a change that fails them fails in seconds, not after the suite.
echo "[check] prettier --check, eslint, tsc --noEmit"
npx prettier --check --log-level warn .
npx eslint .
npx tsc --noEmit -p tsconfig.json
# Fault tests kill workers, a Temporal server and the Docker engine: they run after the rest, in a jest of their own
# (docker-engine.test.ts last of all, by the sequencer), so a fault can never make another test flaky.
status=0
"${jest[@]}" --testPathIgnorePatterns '/test/faults/' || status=$?
"${jest[@]}" test/faults || status=$?
# The end-to-end paths once more, and the faults only a cluster has, on a real Temporal cluster (PostgreSQL and four
# services: `npm run test:cluster`, whose global setup brings it up); it is stopped afterwards, its data kept.
npm run test:cluster || status=$?
npx regatta dev down --cluster >/dev/null 2>&1 || true
exit "$status"
