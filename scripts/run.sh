#!/usr/bin/env bash
# Runs Account Functions locally with everything it needs:
#   Azurite (tables + queues, data kept in .azurite/), maildev (SMTP on 1025, inbox on
#   http://localhost:1080), and the app: the local Functions host (tools/LocalHost) on
#   http://localhost:7071 starting the isolated worker, polling the email queue and firing the
#   sweep's timer, as Azure's host does. Settings: the environment, then
#   src/Functions/local.settings.json if you made one (from local.settings.sample.json).
#   Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

pids=()
cleanup() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return; sleep 0.5
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done  # Azurite can ignore TERM
}
trap cleanup EXIT INT TERM

mkdir -p .azurite
node_modules/.bin/azurite --silent --location .azurite --skipApiVersionCheck --loose \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 >.azurite/azurite.log 2>&1 &
pids+=($!)
node_modules/.bin/maildev --smtp 1025 --web 1080 --ip 127.0.0.1 >.azurite/maildev.log 2>&1 &
pids+=($!)

export AzureWebJobsStorage="${AzureWebJobsStorage:-UseDevelopmentStorage=true}"
export EmailOutboxQueue="${EmailOutboxQueue:-email-outbox}"
export LockoutSweepSchedule="${LockoutSweepSchedule:-0 */5 * * * *}"
export Email__Transport="${Email__Transport:-Smtp}"
export Email__Smtp__Host="${Email__Smtp__Host:-127.0.0.1}"
export Email__Smtp__Port="${Email__Smtp__Port:-1025}"
export Accounts__PublicBaseUrl="${Accounts__PublicBaseUrl:-http://localhost:7071}"
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"

dotnet build src/Functions -c Debug -nologo -v q
dotnet build tools/LocalHost -c Debug -nologo -v q
settings=()
[ -f src/Functions/local.settings.json ] && settings=(--settings src/Functions/local.settings.json)
echo "Account Functions: http://localhost:${PORT:-7071}   inbox: http://localhost:1080"
dotnet tools/LocalHost/bin/Debug/net10.0/AccountFunctions.LocalHost.dll \
  --app src/Functions/bin/Debug/net10.0 --port "${PORT:-7071}" "${settings[@]}" &
pids+=($!)
wait "${pids[-1]}"
