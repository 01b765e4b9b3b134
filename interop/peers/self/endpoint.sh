#!/usr/bin/env bash
# crosswire's own engine behind the endpoint contract (interop/peers/README.md): `crosswire serve` and `crosswire get`
# / `crosswire connect`, so our engine runs in real time against real peers exactly as a user would run it.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cw=(node "$here/../../../bin/crosswire.js")
proto=${PROTOCOL:-quic}
alpn=${ALPN:-}
keylog=(); [ -n "${SSLKEYLOGFILE:-}" ] && keylog=(--keylog "$SSLKEYLOGFILE")
qlog=(); [ -n "${QLOGDIR:-}" ] && [ "$proto" = quic ] && qlog=(--qlog "$QLOGDIR")
cipher=(); [ -n "${CIPHER:-}" ] && cipher=("--cipher=$CIPHER")
[ "$TESTCASE" = chacha20 ] && cipher=(--cipher=TLS_CHACHA20_POLY1305_SHA256)

if [ "$ROLE" = server ]; then
  case "$proto:$TESTCASE" in
    quic:handshake|quic:transfer|quic:multiplexing|quic:http3|quic:multiconnect|quic:resumption|quic:zerortt|quic:chacha20|\
    quic:keyupdate|quic:v2|quic:rebind-port|quic:rebind-addr|quic:connectionmigration|quic:retry|quic:amplificationlimit|quic:longrtt|\
    tls:handshake|tls:transfer|tls:resumption|dtls:*) ;;
    *) echo "crosswire server: unsupported test case $proto/$TESTCASE" >&2; exit 127 ;;
  esac
  extra=()
  [ "$TESTCASE" = retry ] && extra+=(--retry)
  [ "$TESTCASE" = v2 ] && extra+=(--quic-version 2)
  host=$HOST; [[ $host == *:* ]] && host="[$host]"
  if [ "$proto" = dtls ]; then
    exec "${cw[@]}" serve "dtls://$host:$PORT" --cert "$CERT" --key "$KEY" --echo "${keylog[@]}" "${cipher[@]}"
  fi
  exec "${cw[@]}" serve "$proto://$host:$PORT" --cert "$CERT" --key "$KEY" --root "$WWW" "${keylog[@]}" "${qlog[@]}" "${extra[@]}"
fi

# client
read -r -a urls <<<"${REQUESTS:-}"
mkdir -p "$DOWNLOADS"
if [ "$proto" = dtls ]; then
  host=$HOST; [[ $host == *:* ]] && host="[$host]"
  exec "${cw[@]}" connect "dtls://$host:$PORT" --await-echo --ca "$CA" --servername localhost "${keylog[@]}" "${cipher[@]}" <"$MESSAGES" >"$DOWNLOADS/echo"
fi
[ ${#urls[@]} -gt 0 ] || { echo "crosswire client: no REQUESTS" >&2; exit 1; }
common=(--ca "$CA" --out-dir "$DOWNLOADS" "${keylog[@]}" "${cipher[@]}")
if [ "$proto" = tls ]; then
  common+=(--tcp)
else
  common+=("${qlog[@]}" --timeout 120)
  [ -n "$alpn" ] && common+=("--alpn=$alpn")
  [ "${QUIC_VERSION:-1}" = 2 ] && common+=(--quic-version 2)
fi
# URLs go first: yargs array options (--alpn, --cipher) would swallow positionals after them.
get() { local n=$1; shift; "${cw[@]}" get "${@:1:n}" "${common[@]}" "${@:n+1}"; }
case "$proto:$TESTCASE" in
  quic:handshake|quic:transfer|quic:multiplexing|quic:http3|quic:retry|quic:chacha20|quic:v2|quic:rebind-port|quic:rebind-addr|\
  quic:amplificationlimit|quic:longrtt|tls:handshake|tls:transfer)
    exec "${cw[@]}" get "${urls[@]}" "${common[@]}" ;;
  quic:keyupdate)
    exec "${cw[@]}" get "${urls[@]}" "${common[@]}" --key-update 100 ;;
  quic:multiconnect)
    for u in "${urls[@]}"; do get 1 "$u" || exit $?; done ;;
  quic:resumption|quic:zerortt|tls:resumption)
    state=$(mktemp -d); trap 'rm -rf "$state"' EXIT
    get 1 "${urls[0]}" --resume "$state/ticket" || exit $?
    [ ${#urls[@]} -gt 1 ] || exit 0
    early=(); [ "$TESTCASE" = zerortt ] && early=(--0rtt)
    get $((${#urls[@]} - 1)) "${urls[@]:1}" --resume "$state/ticket" "${early[@]}" ;;
  *) echo "crosswire client: unsupported test case $proto/$TESTCASE" >&2; exit 127 ;;
esac
