#!/usr/bin/env bash
# Everything Cove needs on a fresh Debian 12 machine with Node 20: system
# packages, npm dependencies and the build (npm ci builds), and — unless the
# first argument is `runtime` — what the tests need too (test tools, and the
# black-box compatibility suite's own dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-all}"

bash scripts/system-deps.sh "$mode"

stamp=node_modules/.cove-install-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund
  touch "$stamp"
else
  npm run build --silent
fi

[ "$mode" = runtime ] && exit 0

cstamp=compat/node_modules/.cove-install-stamp
if [ ! -f "$cstamp" ] || [ compat/package-lock.json -nt "$cstamp" ]; then
  npm ci --prefix compat --no-audit --no-fund
  touch "$cstamp"
fi
