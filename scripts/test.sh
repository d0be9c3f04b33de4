#!/usr/bin/env bash
# Runs every test. Installs what they need first; the tests start Azurite (and maildev, for
# the SMTP test) on free ports themselves and stop them afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The browser tests (tests/Browser.Tests) drive Debian's chromium; Playwright never downloads one.
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  echo "Installing chromium (apt-get)..."
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
results="$(mktemp -d)"
status=0
dotnet test AccountFunctions.sln -c Release --logger "console;verbosity=normal" --logger trx \
  --results-directory "$results" || status=$?
node scripts/test-summary.js "$results" || true
rm -rf "$results"
exit $status
