#!/usr/bin/env bash
# ngtcp2's gtlsclient/gtlsserver behind the endpoint contract (interop/peers/README.md, quic-interop-runner's
# run_endpoint.sh semantics). Debian's build links GnuTLS, which writes SSLKEYLOGFILE itself; its ALPN is h3 only.
set -uo pipefail
SERVER_BIN=${GTLSSERVER:-/usr/sbin/gtlsserver}
CLIENT_BIN=${GTLSCLIENT:-/usr/bin/gtlsclient}
[ "${PROTOCOL:-quic}" = quic ] || { echo "ngtcp2: only QUIC" >&2; exit 127; }
CHACHA='NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305'
qlog=(); [ -n "${QLOGDIR:-}" ] && { mkdir -p "$QLOGDIR"; qlog=(--qlog-dir="$QLOGDIR"); }

if [ "$ROLE" = server ]; then
  extra=()
  case "$TESTCASE" in
    handshake|transfer|multiplexing|http3|multiconnect|resumption|zerortt|chacha20|keyupdate|rebind-port|rebind-addr|connectionmigration|ecn|amplificationlimit) ;;
    retry) extra+=(-V) ;;
    v2) extra+=(--preferred-versions=v2) ;;
    *) echo "ngtcp2 server: unsupported test case $TESTCASE" >&2; exit 127 ;;
  esac
  exec "$SERVER_BIN" -q "${extra[@]}" "${qlog[@]}" -d "$WWW" "$HOST" "$PORT" "$KEY" "$CERT"
fi

# client
read -r -a urls <<<"${REQUESTS:-}"
[ ${#urls[@]} -gt 0 ] || { echo "ngtcp2 client: no REQUESTS" >&2; exit 1; }
mkdir -p "$DOWNLOADS"
common=(-q --exit-on-all-streams-close --download="$DOWNLOADS" "${qlog[@]}" --timeout=30s --handshake-timeout=60s)
[ "${QUIC_VERSION:-1}" = 2 ] && common+=(-v v2)
run() { "$CLIENT_BIN" "${common[@]}" "$@"; }
case "$TESTCASE" in
  handshake|transfer|multiplexing|http3|retry|rebind-port|rebind-addr|ecn|amplificationlimit)
    exec "$CLIENT_BIN" "${common[@]}" "$HOST" "$PORT" "${urls[@]}" ;;
  chacha20) exec "$CLIENT_BIN" "${common[@]}" --ciphers="$CHACHA" "$HOST" "$PORT" "${urls[@]}" ;;
  keyupdate) exec "$CLIENT_BIN" "${common[@]}" --key-update=100ms "$HOST" "$PORT" "${urls[@]}" ;;
  v2) exec "$CLIENT_BIN" "${common[@]}" --available-versions=v2,v1 "$HOST" "$PORT" "${urls[@]}" ;;
  connectionmigration) exec "$CLIENT_BIN" "${common[@]}" --change-local-addr=200ms "$HOST" "$PORT" "${urls[@]}" ;;
  multiconnect)
    for u in "${urls[@]}"; do run "$HOST" "$PORT" "$u" || exit $?; done ;;
  resumption|zerortt)
    state=$(mktemp -d); trap 'rm -rf "$state"' EXIT
    first=(--session-file="$state/session" --tp-file="$state/tp")
    run "${first[@]}" --wait-for-ticket "$HOST" "$PORT" "${urls[0]}" || exit $?
    [ ${#urls[@]} -gt 1 ] || exit 0
    early=(); [ "$TESTCASE" = resumption ] && early=(--disable-early-data)
    run "${first[@]}" "${early[@]}" "$HOST" "$PORT" "${urls[@]:1}" ;;
  *) echo "ngtcp2 client: unsupported test case $TESTCASE" >&2; exit 127 ;;
esac
