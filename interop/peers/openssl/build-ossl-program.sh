#!/usr/bin/env bash
# Compiles one of crosswire's own C programs next to this script (NAME.c) against one OpenSSL:
#   build-ossl-program.sh ossl-quic-api 3.5        the OpenSSL 3.5 install.sh put in the cache -> {cache}/openssl-3.5/bin/
#   build-ossl-program.sh ossl-dtls-server system  Debian's libssl-dev (OpenSSL 3.0) -> {cache}/openssl-3.0-dtls/bin/
# The programs: ossl-quic-api (the OpenSSL QUIC API stream-io peer for scenarios/api/) and ossl-dtls-server (the
# long-lived DTLS 1.2 server of `fuzz-wire dtls --peer`).
# Incremental: it compiles only when the binary is missing or its source or compile line changed (a SHA-256 stamp
# beside it), so a new or edited program never rebuilds OpenSSL. Kept out of install.sh so that the Docker image's
# OpenSSL build stage (which copies install.sh alone) stays cached when only a program changes; the image needs neither.
# Environment: CROSSWIRE_CACHE (cache root).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${CROSSWIRE_CACHE:-$HOME/.cache/crosswire}"
NAME="${1:-}"
fail() { echo "${NAME:-ossl program} build failed: $*" >&2; exit 1; }
[[ "$NAME" == ossl-quic-api || "$NAME" == ossl-dtls-server ]] || fail "usage: $0 ossl-quic-api|ossl-dtls-server 3.5|system"
SRC="$HERE/$NAME.c"

case "${2:-}" in
  3.5)
    PREFIX="$(readlink -f "$CACHE/openssl-3.5")"
    [[ -x "$PREFIX/bin/openssl" ]] || fail "no OpenSSL 3.5 in $CACHE/openssl-3.5 (run install.sh first)"
    BIN="$PREFIX/bin/$NAME"
    CMD=(cc -O2 -g -Wall -I"$PREFIX/include" -o "$BIN" "$SRC" -L"$PREFIX/lib" -Wl,-rpath,"$PREFIX/lib" -lssl -lcrypto)
    ;;
  system)
    [[ -f /usr/include/openssl/ssl.h ]] || fail "no /usr/include/openssl/ssl.h (apt-get install libssl-dev)"
    mkdir -p "$CACHE/openssl-3.0-dtls/bin"
    BIN="$CACHE/openssl-3.0-dtls/bin/$NAME"
    CMD=(cc -O2 -g -Wall -o "$BIN" "$SRC" -lssl -lcrypto)
    ;;
  *) fail "usage: $0 $NAME 3.5|system" ;;
esac
STAMP="$BIN.sha256"
WANT="$( (cat "$SRC"; echo "${CMD[*]}") | sha256sum | cut -d' ' -f1)"
if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "    $NAME up to date ($BIN)"
  exit 0
fi
echo "==> compiling $NAME (crosswire's own program on libssl) into $BIN"
command -v cc >/dev/null || fail "a C compiler is needed (apt-get install build-essential)"
rm -f "$STAMP"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
if ! "${CMD[@]}" >"$LOG" 2>&1; then
  tail -n 25 "$LOG" >&2
  fail "$NAME.c does not compile against ${2}"
fi
echo "$WANT" >"$STAMP"
