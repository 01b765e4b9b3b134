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
    tls:handshake|tls:transfer|tls:resumption|tls:keyupdate|dtls:*) ;;
    *) echo "crosswire server: unsupported test case $proto/$TESTCASE" >&2; exit 127 ;;
  esac
  extra=()
  # TLS: TLS_GROUPS limits the key exchange groups (a HelloRetryRequest when the client sent no share for them);
  # CLIENT_AUTH=required asks for a client certificate issued by CA (serve has no "optional").
  if [ "$proto" = tls ]; then
    [ -n "${TLS_GROUPS:-}" ] && extra+=(--group "$TLS_GROUPS")
    case "${CLIENT_AUTH:-none}" in
      none) ;;
      required) extra+=(--client-ca "$CA") ;;
      *) echo "crosswire server: CLIENT_AUTH=$CLIENT_AUTH is not supported (required only)" >&2; exit 127 ;;
    esac
  fi
  [ "$TESTCASE" = retry ] && extra+=(--retry)
  [ "$TESTCASE" = v2 ] && extra+=(--quic-version 2)
  [ "$proto" = quic ] && [ -n "${CC:-}" ] && extra+=(--cc "$CC")
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
  [ -n "${TLS_GROUPS:-}" ] && common+=(--group "$TLS_GROUPS")
  [ -n "${CLIENT_CERT:-}" ] && common+=(--cert "$CLIENT_CERT" --key "${CLIENT_KEY:?CLIENT_KEY goes with CLIENT_CERT}")
else
  common+=("${qlog[@]}" --timeout 120)
  [ -n "$alpn" ] && common+=("--alpn=$alpn")
  [ "${QUIC_VERSION:-1}" = 2 ] && common+=(--quic-version 2)
  [ -n "${CC:-}" ] && common+=(--cc "$CC")
fi
# URLs go first: yargs array options (--alpn, --cipher) would swallow positionals after them.
get() { local n=$1; shift; "${cw[@]}" get "${@:1:n}" "${common[@]}" "${@:n+1}"; }
case "$proto:$TESTCASE" in
  quic:handshake|quic:transfer|quic:multiplexing|quic:http3|quic:retry|quic:chacha20|quic:v2|quic:rebind-port|quic:rebind-addr|\
  quic:amplificationlimit|quic:longrtt|tls:handshake|tls:transfer)
    exec "${cw[@]}" get "${urls[@]}" "${common[@]}" ;;
  quic:keyupdate)
    exec "${cw[@]}" get "${urls[@]}" "${common[@]}" --key-update 100 ;;
  tls:keyupdate)
    exec "${cw[@]}" get "${urls[@]}" "${common[@]}" --key-update 1 ;;
  quic:multiconnect)
    exec "${cw[@]}" get "${urls[@]}" "${common[@]}" --connection-per-url ;;
  quic:resumption|quic:zerortt|tls:resumption)
    state=$(mktemp -d); trap 'rm -rf "$state"' EXIT
    get 1 "${urls[0]}" --resume "$state/ticket" || exit $?
    [ ${#urls[@]} -gt 1 ] || exit 0
    early=(); [ "$TESTCASE" = zerortt ] && early=(--0rtt)
    get $((${#urls[@]} - 1)) "${urls[@]:1}" --resume "$state/ticket" "${early[@]}" ;;
  *) echo "crosswire client: unsupported test case $proto/$TESTCASE" >&2; exit 127 ;;
esac
