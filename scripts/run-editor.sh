#!/usr/bin/env bash
# `make run`: real VS Code (code-server) in the browser with the SCMS extension, on a demo workspace of
# standard-library code; prints the address to open. Stop it with Ctrl+C. The workspace is made on the first run and
# kept afterwards, with what you remembered, accepted and edited in it; `make demo-reset` makes it afresh.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
VERSION="$(node -p "require('$ROOT/package.json').version")"
STATE="$ROOT/build/editor"
WS="$ROOT/build/demo-workspace"
PORT="${PORT:-8080}"
CODE_SERVER="$ROOT/build/code-server/node_modules/.bin/code-server"

if [ ! -d "$WS/.scms" ]; then
  "$PY" "$ROOT/scripts/demo.py" > /dev/null   # a demo workspace with one validated pattern
  KEPT="a new demo workspace"
else
  KEPT="the demo workspace as you left it; make demo-reset starts over"
fi
mkdir -p "$STATE/data/User" "$STATE/data/Machine" "$STATE/exts" "$STATE/xdg-config" "$STATE/xdg-data"
if [ ! -f "$STATE/data/User/settings.json" ]; then  # made once: what you change in the Settings UI is kept
  cat > "$STATE/data/User/settings.json" <<JSON
{
  "workbench.startupEditor": "none",
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoUpdate": false,
  "editor.hover.delay": 300,
  "scms.server.interpreter": ["$PY"]
}
JSON
fi
# code-server's window is a remote one: machine-overridable settings (the interpreter) are read from the Machine
# settings; from the User ones only until the Settings UI writes them again
cat > "$STATE/data/Machine/settings.json" <<JSON
{
  "scms.server.interpreter": ["$PY"]
}
JSON
export XDG_CONFIG_HOME="$STATE/xdg-config" XDG_DATA_HOME="$STATE/xdg-data"
ARGS=(--config "$STATE/config.yaml" --user-data-dir "$STATE/data" --extensions-dir "$STATE/exts")
"$CODE_SERVER" "${ARGS[@]}" --force --install-extension "$ROOT/build/scms-$VERSION.vsix" > /dev/null
echo
echo "  SCMS in VS Code: open http://127.0.0.1:$PORT/?folder=$WS"
echo "  ($KEPT)"
echo "  (desktop VS Code or Cursor: code --install-extension build/scms-$VERSION.vsix)"
echo
exec "$CODE_SERVER" "${ARGS[@]}" --bind-addr "127.0.0.1:$PORT" --auth none --disable-telemetry \
  --disable-update-check --disable-workspace-trust "$WS"
