#!/usr/bin/env bash
# `npm test`: installs what is missing (npm packages, host tools), then runs the suite on the real local
# stack (jest's global setup brings it up). Extra arguments go to jest, e.g. `npm test -- test/compose.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node-modules.sh

ensure_node_modules
node --require tsx/cjs src/dev/ensure-tools-main.ts --for-tests
# --forceExit: a suite's long-lived clients (Docker sockets, Temporal connections) must not keep a finished run alive.
exec npx jest --runInBand --forceExit "$@"
