#!/usr/bin/env bash
# Build the deployable package of the custom handler.
#
#   scripts/publish.sh              publish, check the layout, make out/accountfunctions.zip
#   scripts/publish.sh --measure    the same, then measure start-up (time to GET / = 200)
#   scripts/publish.sh --measure-only [--runs N]
#                                   only measure the executable already in out/publish
#
# Output:
#   out/publish/               self-contained linux-x64 ReadyToRun publish of src/Functions,
#                              with host.json and <Function>/function.json at its root
#   out/accountfunctions.zip   that folder zipped, with AccountFunctions kept executable
#
# Why self-contained + ReadyToRun and not Native AOT: see docs/deploy.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

publish_dir="out/publish"
zip_file="out/accountfunctions.zip"
exe_name="AccountFunctions"

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
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "publish.sh: --runs takes a positive number" >&2
  exit 2
fi

fail() { echo "publish.sh: $*" >&2; exit 1; }

ensure_zip() {
  command -v zip >/dev/null 2>&1 && return 0
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "publish.sh: installing zip (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zip >/dev/null
  else
    fail "the 'zip' command is missing: install it (Debian/Ubuntu: sudo apt-get install zip)"
  fi
}

check_layout() {
  local missing=0 src rel
  [[ -f "$publish_dir/host.json" ]] || { echo "missing: $publish_dir/host.json" >&2; missing=1; }
  # Every function folder of the project must be in the package as <Name>/function.json.
  local count=0
  for src in src/Functions/*/function.json; do
    [[ -e "$src" ]] || continue
    count=$((count + 1))
    rel="${src#src/Functions/}"
    [[ -f "$publish_dir/$rel" ]] || { echo "missing: $publish_dir/$rel" >&2; missing=1; }
  done
  [[ $count -gt 0 ]] || { echo "no src/Functions/*/function.json found" >&2; missing=1; }
  [[ -f "$publish_dir/$exe_name" ]] || { echo "missing: $publish_dir/$exe_name" >&2; missing=1; }
  if [[ -f "$publish_dir/$exe_name" && ! -x "$publish_dir/$exe_name" ]]; then
    echo "not executable: $publish_dir/$exe_name" >&2; missing=1
  fi
  [[ $missing -eq 0 ]] || fail "the publish folder is not a complete Functions package (see above)"
  echo "layout ok: host.json, $count function.json files, $exe_name executable"
}

publish() {
  rm -rf "$publish_dir" "$zip_file"
  mkdir -p out
  dotnet publish src/Functions \
    -c Release \
    -r linux-x64 \
    --self-contained true \
    -p:PublishReadyToRun=true \
    -o "$publish_dir"
  check_layout

  ensure_zip
  # -X: no extra uid/gid fields; Info-ZIP on Linux stores the Unix mode, so the
  # executable bit survives into the Functions host's extracted/mounted package.
  (cd "$publish_dir" && zip -q -r -X "$root/$zip_file" .)
  local mode
  mode="$(unzip -Z "$zip_file" "$exe_name" 2>/dev/null | awk '{print $1}' || true)"
  case "$mode" in
    -rwx*) ;;
    *) fail "$exe_name lost its executable bit in $zip_file (mode '${mode:-unknown}')" ;;
  esac
  unzip -Z "$zip_file" host.json >/dev/null 2>&1 || fail "host.json is not at the root of $zip_file"
  echo "package: $zip_file ($(du -h "$zip_file" | cut -f1)), $exe_name mode $mode"
}

# --- start-up measurement ---------------------------------------------------------------

free_port() {
  local port i
  for i in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    # Nothing accepts a connection there: take it.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# Prints the HTTP status of GET / (or nothing when no answer).
http_status() {
  local port="$1" line=""
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null --max-time 1 -w '%{http_code}' "http://127.0.0.1:$port/" 2>/dev/null || true
    return 0
  fi
  {
    exec 3<>"/dev/tcp/127.0.0.1/$port" &&
      printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3 &&
      IFS= read -r -t 1 line <&3 &&
      exec 3>&- &&
      printf '%s' "$line" | awk '{print $2}'
  } 2>/dev/null || true
}

measure_once() {
  local port pid start now status elapsed log deadline_ms=30000
  port="$(free_port)" || fail "no free port found"
  log="$(mktemp)"
  start="$(date +%s%N)"
  # The Functions host sets FUNCTIONS_CUSTOMHANDLER_PORT; storage is not touched to answer /.
  # Started from the package root, as the host does (host.json workingDirectory is empty).
  # exec: $! is then the handler itself.
  (cd "$publish_dir" && FUNCTIONS_CUSTOMHANDLER_PORT="$port" ASPNETCORE_ENVIRONMENT=Production \
    exec "./$exe_name") >"$log" 2>&1 &
  pid=$!
  status=""
  while :; do
    status="$(http_status "$port")"
    now="$(date +%s%N)"
    elapsed=$(( (now - start) / 1000000 ))
    [[ "$status" == "200" ]] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      status="exited"
      break
    fi
    if (( elapsed > deadline_ms )); then
      status="timeout(last status: ${status:-none})"
      break
    fi
    sleep 0.01
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [[ "$status" == "200" ]]; then
    rm -f "$log"
    echo "$elapsed"
    return 0
  fi
  echo "publish.sh: GET / on port $port did not answer 200 ($status after ${elapsed} ms). Handler output:" >&2
  tail -n 20 "$log" >&2 || true
  rm -f "$log"
  return 1
}

measure() {
  [[ -x "$publish_dir/$exe_name" ]] || fail "$publish_dir/$exe_name is missing: run scripts/publish.sh first"
  echo "measuring start-up: $runs run(s), time from exec to the first 200 on GET /"
  local i ms results=()
  for i in $(seq 1 "$runs"); do
    ms="$(measure_once)" || fail "start-up could not be measured (see above)"
    results+=("$ms")
    echo "  run $i: ${ms} ms"
  done
  local sorted
  sorted="$(printf '%s\n' "${results[@]}" | sort -n)"
  echo "start-up: min $(head -n 1 <<<"$sorted") ms, max $(tail -n 1 <<<"$sorted") ms (first run: ${results[0]} ms)"
}

if [[ $do_publish -eq 1 ]]; then
  publish
fi
if [[ $do_measure -eq 1 ]]; then
  measure
fi
