#!/usr/bin/env bash
# Runs every test. Installs what they need first; the tests start Azurite (and maildev, for
# the SMTP test) on free ports themselves and stop them afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
results="$(mktemp -d)"
status=0
dotnet test AccountFunctions.sln -c Release --logger "console;verbosity=normal" --logger trx \
  --results-directory "$results" || status=$?
node scripts/test-summary.js "$results" || true
rm -rf "$results"
exit $status
