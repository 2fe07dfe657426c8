#!/usr/bin/env bash
# Real VS Code for the extension's end-to-end test: code-server from npm, driven by Debian's Chromium
# through playwright-core. Idempotent: each step runs only when its result is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CS_HOME="${CS_HOME:-$ROOT/build/code-server}"
CS_VERSION=4.100.3   # VS Code 1.100.3: the newest code-server whose engines.node is 20
# code-server 4.100.3 pins @vscode/ripgrep 1.15.11, whose postinstall downloads rg from GitHub unless
# it finds the release asset in its cache folder under the temp dir: Debian's rg stands in for it.
RG_CACHE_DIR="$(node -p 'require("os").tmpdir()')/vscode-ripgrep-cache-1.15.11"
RG_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz

[ "$(node -p 'process.versions.node.split(".")[0]')" = 20 ] || { echo "code-server $CS_VERSION needs Node 20 on PATH" >&2; exit 1; }

# compilers and krb5 headers for the native modules built from source (their prebuilt binaries live
# on GitHub), ripgrep, Chromium for Playwright, and a font so that screenshots show text
pkgs=(build-essential pkg-config libkrb5-dev ripgrep chromium fonts-liberation)
ok=$(dpkg-query -W -f='${Status}\n' "${pkgs[@]}" 2>/dev/null | grep -c '^install ok installed$' || true)
if [ "$ok" -ne "${#pkgs[@]}" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
fi

if [ ! -s "$RG_CACHE_DIR/$RG_ASSET" ]; then
  tmp=$(mktemp -d); cp "$(command -v rg)" "$tmp/rg"
  mkdir -p "$RG_CACHE_DIR"; tar czf "$RG_CACHE_DIR/$RG_ASSET" -C "$tmp" rg; rm -rf "$tmp"
fi

CS_PKG="$CS_HOME/node_modules/code-server"
# the last thing code-server's postinstall creates marks a complete install
if [ -f "$CS_PKG/lib/vscode/extensions/node_modules/typescript/package.json" ]; then
  exit 0
fi
mkdir -p "$CS_HOME"
rm -rf "$CS_PKG/lib/vscode/node_modules" "$CS_PKG/lib/vscode/extensions/node_modules"
# fetch without scripts, then run every install script with `npm rebuild` (as root, code-server's
# postinstall wants npm_config_unsafe_perm; node-pty's wants npm_config_yes without a TTY)
npm install --prefix "$CS_HOME" --save-exact --no-audit --no-fund --ignore-scripts "code-server@$CS_VERSION"
npm_config_unsafe_perm=true npm_config_yes=true npm rebuild --prefix "$CS_HOME" --foreground-scripts > "$CS_HOME/rebuild.log" 2>&1 \
  || { tail -40 "$CS_HOME/rebuild.log" >&2; exit 1; }
test -f "$CS_PKG/lib/vscode/extensions/node_modules/typescript/package.json"
