#!/usr/bin/env bash
# Compiles bin/ossl-quic-api (ossl-quic-api.c next to this script: crosswire's own OpenSSL-API stream-io peer) against
# the OpenSSL 3.5 that install.sh put in the cache. Incremental: it compiles only when the binary is missing or its
# source or compile line changed (a SHA-256 stamp beside it), so a new or edited program never rebuilds OpenSSL.
# Kept out of install.sh so that the Docker image's OpenSSL build stage (which copies install.sh alone) stays cached
# when only this program changes; the image does not need it (API scenarios run natively).
# Environment: CROSSWIRE_CACHE (cache root).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${CROSSWIRE_CACHE:-$HOME/.cache/crosswire}"
PREFIX="$(readlink -f "$CACHE/openssl-3.5")"
SRC="$HERE/ossl-quic-api.c"
BIN="$PREFIX/bin/ossl-quic-api"
STAMP="$PREFIX/bin/ossl-quic-api.sha256"
fail() { echo "ossl-quic-api build failed: $*" >&2; exit 1; }

[[ -x "$PREFIX/bin/openssl" ]] || fail "no OpenSSL 3.5 in $CACHE/openssl-3.5 (run install.sh first)"
CMD=(cc -O2 -g -Wall -I"$PREFIX/include" -o "$BIN" "$SRC" -L"$PREFIX/lib" -Wl,-rpath,"$PREFIX/lib" -lssl -lcrypto)
WANT="$( (cat "$SRC"; echo "${CMD[*]}") | sha256sum | cut -d' ' -f1)"
if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "    ossl-quic-api up to date ($BIN)"
  exit 0
fi
echo "==> compiling ossl-quic-api (crosswire's OpenSSL QUIC API peer) into $BIN"
command -v cc >/dev/null || fail "a C compiler is needed (apt-get install build-essential)"
rm -f "$STAMP"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
if ! "${CMD[@]}" >"$LOG" 2>&1; then
  tail -n 25 "$LOG" >&2
  fail "ossl-quic-api.c does not compile against $PREFIX"
fi
echo "$WANT" >"$STAMP"
