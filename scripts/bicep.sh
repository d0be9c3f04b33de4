#!/usr/bin/env bash
# Compile and lint infra/main.bicep with the Bicep CLI taken from NuGet
# (package Azure.Bicep.CommandLine.linux-x64, restored by build/bicep/bicep.csproj).
# Fails on any compile error and on any linter diagnostic (warnings included):
# fix the Bicep file rather than silencing the rule.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

package_id="azure.bicep.commandline.linux-x64"
package_version="0.49.2"   # keep in step with build/bicep/bicep.csproj

dotnet restore build/bicep/bicep.csproj --verbosity quiet

# The global packages folder ("global-packages: <path>"); NUGET_PACKAGES overrides it.
packages="$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: *//p' | head -n 1)"
packages="${packages%/}"
bicep="$packages/$package_id/$package_version/tools/bicep"
if [[ ! -f "$bicep" ]]; then
  echo "bicep.sh: the Bicep CLI is not at $bicep after restore" >&2
  exit 1
fi
chmod +x "$bicep"
# The CLI is a .NET single-file app; it needs no ICU for what we do here.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT="${DOTNET_SYSTEM_GLOBALIZATION_INVARIANT:-1}"
# No telemetry from CI.
export BICEP_TRACING_ENABLED=false

echo "bicep $("$bicep" --version | head -n 1)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

status=0
# Files to check: the arguments, else infra/main.bicep.
if [[ $# -gt 0 ]]; then files=("$@"); else files=(infra/main.bicep); fi

for f in "${files[@]}"; do
  echo "== bicep build $f"
  # Diagnostics go to stderr; "Error" lines make the exit code non-zero, warnings do not,
  # so both the exit code and the output are checked.
  if ! "$bicep" build "$f" --outfile "$tmp/$(basename "$f" .bicep).json" 2>"$tmp/build.log"; then
    status=1
  fi
  cat "$tmp/build.log" >&2
  if grep -Eq ': (Error|Warning) ' "$tmp/build.log"; then
    status=1
  fi

  echo "== bicep lint $f"
  if ! "$bicep" lint "$f" --diagnostics-format default 2>"$tmp/lint.log"; then
    status=1
  fi
  cat "$tmp/lint.log" >&2
  if grep -Eq ': (Error|Warning) ' "$tmp/lint.log"; then
    status=1
  fi
done

if [[ $status -ne 0 ]]; then
  echo "bicep.sh: FAILED (errors or warnings above)" >&2
  exit 1
fi
echo "bicep.sh: build and lint clean"
