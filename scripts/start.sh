#!/usr/bin/env bash
# Installs everything, then runs the agent on 127.0.0.1:9990 serving the
# current user's home directory. The token is generated once and kept in
# ~/.cove/agent-token (mode 600); its path is printed, never the token.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh

dir="${HOME}/.cove"
token_file="${dir}/agent-token"
mkdir -p "$dir"
chmod 700 "$dir"
if [ ! -s "$token_file" ]; then
  (umask 077 && node -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('hex'))" > "$token_file")
fi
echo "token file: ${token_file}   (curl -H \"Authorization: Bearer \$(cat ${token_file})\" http://127.0.0.1:9990/files?path=\$HOME)"
exec node packages/cli/bin/cove.js agent --listen "${COVE_LISTEN:-127.0.0.1:9990}" --workdir "${COVE_WORKDIR:-$HOME}" --token-file "$token_file"
