#!/usr/bin/env bash
# Runs Account Functions locally with everything it needs:
#   Azurite (tables + queues, data kept in .azurite/), maildev (SMTP on 1025, inbox on
#   http://localhost:1080), and the app on http://localhost:7071 draining the email queue and
#   running the sweep itself (Triggers__RunLocally=true). Ctrl-C stops all three.
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
export Triggers__RunLocally="${Triggers__RunLocally:-true}"
export Email__Transport="${Email__Transport:-Smtp}"
export Email__Smtp__Host="${Email__Smtp__Host:-127.0.0.1}"
export Email__Smtp__Port="${Email__Smtp__Port:-1025}"
export Accounts__PublicBaseUrl="${Accounts__PublicBaseUrl:-http://localhost:7071}"
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"

echo "Account Functions: http://localhost:7071   inbox: http://localhost:1080"
dotnet run --project src/Functions -- --urls "${URLS:-http://localhost:7071}" &
pids+=($!)
wait "${pids[-1]}"
