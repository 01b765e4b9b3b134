#!/usr/bin/env bash
# Installs quiche 0.18 (Cloudflare, BoringSSL) as shipped in the N-API binary of @matrixai/quic-linux-x64 2.0.9
# into the crosswire cache. Idempotent: does nothing when the .node file is already there.
set -u

PKG='@matrixai/quic-linux-x64'
PKG_VERSION='2.0.9'
CACHE="${CROSSWIRE_CACHE:-$HOME/.cache/crosswire}"
DIR="$CACHE/quiche-0.18.0"
NODE_FILE="$DIR/node_modules/@matrixai/quic-linux-x64/node.napi.node"

fail() { echo "quiche install: $*" >&2; exit 1; }

if [ -f "$NODE_FILE" ]; then
  echo "quiche: already installed ($NODE_FILE)"
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) fail "$PKG ships a binary for Linux x86_64 only (this is $(uname -s) $(uname -m))" ;;
esac
command -v npm >/dev/null 2>&1 || fail "npm not found (Node 20 with npm is needed)"

echo "quiche: npm install --prefix $DIR $PKG@$PKG_VERSION"
mkdir -p "$DIR" || fail "cannot create $DIR"
LOG="$DIR/install.log"
if ! npm install --prefix "$DIR" "$PKG@$PKG_VERSION" --no-audit --no-fund >"$LOG" 2>&1; then
  fail "npm install of $PKG@$PKG_VERSION failed (see $LOG)"
fi
[ -f "$NODE_FILE" ] || fail "npm installed $PKG@$PKG_VERSION but $NODE_FILE is missing"
echo "quiche: installed $NODE_FILE"
