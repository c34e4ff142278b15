#!/usr/bin/env bash
# Installs everything, then runs `cove up`: the control plane, the gateway and
# the workspaces' driver in one process on the embedded SQLite store (data in
# ${COVE_DATA_DIR:-~/.cove}). The first run creates client credentials and writes
# them to <data dir>/credentials.json (mode 600); a quick start is printed.
# As root on Linux with runc, workspaces are isolated (sandbox driver);
# elsewhere the process driver runs them without isolation, with a warning.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh runtime

exec node packages/cli/bin/cove.js up \
  --data-dir "${COVE_DATA_DIR:-${HOME}/.cove}" \
  --api-listen "${COVE_API_LISTEN:-127.0.0.1:9070}" \
  --gateway-listen "${COVE_GATEWAY_LISTEN:-127.0.0.1:9080}" \
  --driver "${COVE_DRIVER:-auto}"
