#!/usr/bin/env bash
# Build the deployable package of the function app (the .NET isolated worker).
#
#   scripts/publish.sh              publish, check the layout, make out/accountfunctions.zip
#   scripts/publish.sh --measure    the same, then measure the cold start through the local host
#   scripts/publish.sh --measure-only [--runs N]
#                                   only measure the package already in out/publish
#
# Output:
#   out/publish/               framework-dependent Release publish of src/Functions: AccountFunctions.dll,
#                              host.json, worker.config.json, functions.metadata, .azurefunctions/
#   out/accountfunctions.zip   that folder zipped (Flex Consumption runs it with runtime dotnet-isolated 10.0)
#
# The cold start is the time from starting the local Functions host (tools/LocalHost) on the
# package to the first 200 of GET /api/openapi.json, which goes through the worker and touches
# no storage: worker process start, gRPC handshake, function load, first invocation.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

publish_dir="out/publish"
zip_file="out/accountfunctions.zip"

do_publish=1
do_measure=0
runs=3

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --measure) do_measure=1 ;;
    --measure-only) do_measure=1; do_publish=0 ;;
    --runs) runs="${2:?--runs needs a number}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "publish.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "publish.sh: --runs takes a positive number" >&2; exit 2; }

fail() { echo "publish.sh: $*" >&2; exit 1; }

ensure_zip() {
  command -v zip >/dev/null 2>&1 && command -v unzip >/dev/null 2>&1 && return 0
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "publish.sh: installing zip (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zip unzip >/dev/null
  else
    fail "the 'zip' command is missing: install it (Debian/Ubuntu: sudo apt-get install zip)"
  fi
}

check_layout() {
  local missing=0 f
  for f in host.json worker.config.json functions.metadata AccountFunctions.dll extensions.json; do
    [[ -f "$publish_dir/$f" ]] || { echo "missing: $publish_dir/$f" >&2; missing=1; }
  done
  [[ -d "$publish_dir/.azurefunctions" ]] || { echo "missing: $publish_dir/.azurefunctions/" >&2; missing=1; }
  grep -q '"dotnet-isolated"' "$publish_dir/worker.config.json" 2>/dev/null || { echo "worker.config.json is not dotnet-isolated" >&2; missing=1; }
  if find "$publish_dir" -name function.json | grep -q .; then echo "a function.json is in the package" >&2; missing=1; fi
  [[ $missing -eq 0 ]] || fail "the publish folder is not a complete Functions package (see above)"
  echo "layout ok: host.json, worker.config.json, functions.metadata ($(grep -o '"scriptFile"' "$publish_dir/functions.metadata" | wc -l) functions), .azurefunctions/"
}

publish() {
  rm -rf "$publish_dir" "$zip_file"
  mkdir -p out
  dotnet publish src/Functions -c Release -o "$publish_dir" -nologo
  check_layout
  ensure_zip
  (cd "$publish_dir" && zip -q -r -X "$root/$zip_file" .)
  local listing
  listing="$(unzip -Z1 "$zip_file")" || fail "cannot list $zip_file"
  grep -qx host.json <<<"$listing" || fail "host.json is not at the root of $zip_file"
  grep -q '^\.azurefunctions/' <<<"$listing" || fail ".azurefunctions/ is not in $zip_file"
  echo "package: $zip_file ($(du -h "$zip_file" | cut -f1))"
}

measure() {
  [[ -f "$publish_dir/AccountFunctions.dll" ]] || fail "$publish_dir is empty: run scripts/publish.sh first"
  bash scripts/setup.sh >/dev/null
  dotnet build tools/LocalHost -c Release -nologo -v q >/dev/null
  local host_dll="tools/LocalHost/bin/Release/net10.0/AccountFunctions.LocalHost.dll"
  echo "measuring the cold start: $runs run(s), local host start to the first 200 of GET /api/openapi.json"
  local i results=() port pid start now elapsed status log
  for i in $(seq 1 "$runs"); do
    port=$((20000 + RANDOM % 40000))
    log="$(mktemp)"
    start="$(date +%s%N)"
    AzureWebJobsStorage="UseDevelopmentStorage=true" EmailOutboxQueue=email-outbox LockoutSweepSchedule="0 0 0 1 1 *" \
      dotnet "$host_dll" --app "$publish_dir" --port "$port" >"$log" 2>&1 &
    pid=$!
    status=""
    while :; do
      status="$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "http://127.0.0.1:$port/api/openapi.json" 2>/dev/null || true)"
      now="$(date +%s%N)"; elapsed=$(( (now - start) / 1000000 ))
      [[ "$status" == "200" ]] && break
      kill -0 "$pid" 2>/dev/null || { status="exited"; break; }
      (( elapsed > 60000 )) && { status="timeout"; break; }
      sleep 0.02
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [[ "$status" == "200" ]] || { tail -n 20 "$log" >&2; rm -f "$log"; fail "no 200 ($status after ${elapsed} ms)"; }
    rm -f "$log"
    results+=("$elapsed")
    echo "  run $i: ${elapsed} ms"
  done
  local sorted; sorted="$(printf '%s\n' "${results[@]}" | sort -n)"
  echo "cold start: min $(head -n 1 <<<"$sorted") ms, median $(sed -n "$(( (runs + 1) / 2 ))p" <<<"$sorted") ms, max $(tail -n 1 <<<"$sorted") ms"
}

[[ $do_publish -eq 1 ]] && publish
[[ $do_measure -eq 1 ]] && measure
exit 0
