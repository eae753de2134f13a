#!/usr/bin/env sh
# Prints the path of a Node.js binary new enough for shardgate (>= 22.19;
# @kubernetes/client-node 2.x pulls undici 8). Where the system Node is older,
# installs the registry package node@$SHARDGATE_NODE_VERSION once into a cache
# outside the checkout and prints that one instead.
set -eu
want=${SHARDGATE_NODE_VERSION:-24.21.0}
cache=${SHARDGATE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/shardgate/tools}

new_enough() {
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)' 2>/dev/null
}

sys=$(command -v node 2>/dev/null || true)
if [ -n "$sys" ] && new_enough "$sys"; then echo "$sys"; exit 0; fi

dir="$cache/node-$want"
bin="$dir/node_modules/node/bin/node"
if [ ! -x "$bin" ] || ! new_enough "$bin"; then
  echo "[node] system Node is $(${sys:-false} --version 2>/dev/null || echo missing); installing node@$want into $dir" >&2
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  npm install --prefix "$dir.tmp" --no-save --no-audit --no-fund --loglevel=error "node@$want" >&2
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  new_enough "$bin" || { echo "[node] installed node@$want does not run" >&2; exit 1; }
fi
echo "$bin"
