#!/usr/bin/env bash
# The whole test suite: install what is missing, type-check, lint, then run
# every test (unit, HTTP, WebSocket, official-SDK compatibility, benchmark smoke).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh
npm run --silent typecheck
npx biome check .
npx vitest run "$@"
