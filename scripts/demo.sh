#!/usr/bin/env bash
# `npm run demo`: installs what is missing, brings the local stack up with its workers, and runs a demo
# campaign over the local fleet, printing each repository's outcome and the campaign's Web UI address.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node-modules.sh

started=$SECONDS
ensure_node_modules
npx regatta dev up
if [ ! -f scripts/demo-campaign.ts ]; then
  echo "scripts/demo-campaign.ts is not there yet: the stack is up, but there is no demo campaign to run" >&2
  exit 1
fi
npx tsx scripts/demo-campaign.ts "$@"
echo "demo finished in $((SECONDS - started))s"
