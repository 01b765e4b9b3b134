#!/usr/bin/env bash
# Compiles ossl-dtls-server (ossl-dtls-server.c next to this script: crosswire's long-lived DTLS 1.2 server for
# `fuzz-wire dtls --peer`) against one OpenSSL:
#   build-ossl-dtls-server.sh 3.5     the OpenSSL 3.5 that install.sh put in the cache -> {cache}/openssl-3.5/bin/
#   build-ossl-dtls-server.sh system  Debian's libssl-dev (OpenSSL 3.0)                 -> {cache}/openssl-3.0-dtls/bin/
# Incremental: it compiles only when the binary is missing or its source or compile line changed (a SHA-256 stamp
# beside it). Kept out of install.sh so that the Docker image's OpenSSL build stage (which copies install.sh alone)
# stays cached when only this program changes.
# Environment: CROSSWIRE_CACHE (cache root).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${CROSSWIRE_CACHE:-$HOME/.cache/crosswire}"
SRC="$HERE/ossl-dtls-server.c"
fail() { echo "ossl-dtls-server build failed: $*" >&2; exit 1; }

case "${1:-}" in
  3.5)
    PREFIX="$(readlink -f "$CACHE/openssl-3.5")"
    [[ -x "$PREFIX/bin/openssl" ]] || fail "no OpenSSL 3.5 in $CACHE/openssl-3.5 (run install.sh first)"
    BIN="$PREFIX/bin/ossl-dtls-server"
    CMD=(cc -O2 -g -Wall -I"$PREFIX/include" -o "$BIN" "$SRC" -L"$PREFIX/lib" -Wl,-rpath,"$PREFIX/lib" -lssl -lcrypto)
    ;;
  system)
    [[ -f /usr/include/openssl/ssl.h ]] || fail "no /usr/include/openssl/ssl.h (apt-get install libssl-dev)"
    mkdir -p "$CACHE/openssl-3.0-dtls/bin"
    BIN="$CACHE/openssl-3.0-dtls/bin/ossl-dtls-server"
    CMD=(cc -O2 -g -Wall -o "$BIN" "$SRC" -lssl -lcrypto)
    ;;
  *) fail "usage: $0 3.5|system" ;;
esac
STAMP="$BIN.sha256"
WANT="$( (cat "$SRC"; echo "${CMD[*]}") | sha256sum | cut -d' ' -f1)"
if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "    ossl-dtls-server up to date ($BIN)"
  exit 0
fi
echo "==> compiling ossl-dtls-server (crosswire's DTLS 1.2 fuzzing server) into $BIN"
command -v cc >/dev/null || fail "a C compiler is needed (apt-get install build-essential)"
rm -f "$STAMP"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
if ! "${CMD[@]}" >"$LOG" 2>&1; then
  tail -n 25 "$LOG" >&2
  fail "ossl-dtls-server.c does not compile against ${1}"
fi
echo "$WANT" >"$STAMP"
