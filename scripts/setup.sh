#!/usr/bin/env bash
# Installs what the app and the tests need beyond the .NET SDK and Node: the pinned npm
# packages (Azurite, maildev, and oidc-provider for the external sign-in tests). Safe to run
# again; does nothing when they are in place.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/azurite ] || [ ! -x node_modules/.bin/maildev ] || [ ! -d node_modules/oidc-provider ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing Azurite, maildev and oidc-provider (npm ci)..."
  npm ci --no-audit --no-fund --loglevel=error
fi
