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

# `cove up` reads COVE_DATA_DIR, COVE_API_LISTEN, COVE_GATEWAY_LISTEN, COVE_DRIVER and the
# rest itself (flag > environment > <data dir>/config.json > default): nothing to pass here.
exec node packages/cli/bin/cove.js up "$@"
