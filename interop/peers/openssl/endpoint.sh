#!/usr/bin/env bash
# crosswire endpoint for OpenSSL (interop/peers/README.md has the contract).
#   quic: OpenSSL's hq-interop demo client/server (test/quic-openssl-docker/hq-interop), and the nghttp3 demo
#         server for ALPN h3 when install.sh could build it. Built by install.sh into the cache (OpenSSL 3.5).
#   tls:  openssl s_server -tls1_3 -WWW / openssl s_client -tls1_3 with an HTTP/1.0 GET per URL.
#   dtls: openssl s_server -dtls1_2 -listen as an echo server / openssl s_client -dtls1_2 sending MESSAGES;
#         TESTCASE=fuzz-wire: crosswire's ossl-dtls-server (OSSL_DTLS_SERVER, default $PREFIX/bin/ossl-dtls-server).
# The openssl-3.0 peer runs this script with OPENSSL_BIN=/usr/bin/openssl and OPENSSL_NO_QUIC=1.
# Exit 127: test case not supported by this implementation.
set -uo pipefail

PEERDIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAME="${OPENSSL_PEER_NAME:-openssl}"
PREFIX="${OPENSSL_PREFIX:-${CROSSWIRE_CACHE:-$HOME/.cache/crosswire}/openssl-3.5}"
OPENSSL="${OPENSSL_BIN:-$PREFIX/bin/openssl}"
SSLIO=(perl "$PEERDIR/sslio.pl")

ROLE="${ROLE:-}"
PROTOCOL="${PROTOCOL:-quic}"
TESTCASE="${TESTCASE:-transfer}"
ALPN="${ALPN:-}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-443}"
CERTS="${CERTS:-/certs}"
CERT="${CERT:-$CERTS/cert.pem}"
KEY="${KEY:-$CERTS/priv.key}"
CA="${CA:-$CERTS/ca.pem}"
WWW="${WWW:-/www}"
DOWNLOADS="${DOWNLOADS:-/downloads}"
LOGS="${LOGS:-/logs}"
REQUESTS="${REQUESTS:-}"
QUIC_VERSION="${QUIC_VERSION:-1}"
CIPHER="${CIPHER:-}"
SSLKEYLOGFILE="${SSLKEYLOGFILE:-}"

log() { echo "$NAME endpoint ($ROLE $PROTOCOL $TESTCASE): $*" >&2; }
unsupported() { log "unsupported: $*"; exit 127; }
die() { log "error: $*"; exit 1; }

[[ "$ROLE" == client || "$ROLE" == server ]] || die "ROLE must be client or server (got '$ROLE')"
[[ -x "$OPENSSL" ]] || die "$OPENSSL not found (run install.sh)"
mkdir -p "$LOGS" 2>/dev/null || true

# host:port for openssl's -accept/-connect (IPv6 literals in brackets).
hostport() { if [[ "$1" == *:* ]]; then echo "[$1]:$2"; else echo "$1:$2"; fi; }
is_ip() { [[ "$1" == *:* || "$1" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; }
# URL parts: https://AUTHORITY/PATH -> url_host, url_path (without the leading /), url_name (last path component).
split_url() {
  local rest="${1#*://}" auth
  auth="${rest%%/*}"
  url_path="${rest#"$auth"}"
  url_path="${url_path#/}"
  url_name="${url_path##*/}"
  if [[ "$auth" == \[* ]]; then url_host="${auth#[}"; url_host="${url_host%%]*}"; else url_host="${auth%%:*}"; fi
}
split_file_url() { split_url "$1"; [[ -n "$url_name" ]] || die "URL without a file name: $1"; }

# Children of this script (when it does not exec) die with it: the runner ends the process group anyway, this covers a
# TERM sent to the script's pid alone.
CHILD=
trap '[[ -n "$CHILD" ]] && kill -TERM "$CHILD" 2>/dev/null; exit 143' TERM INT HUP
run() { "$@" & CHILD=$!; wait "$CHILD"; local rc=$?; CHILD=; return $rc; }

# s_server / s_client load the leaf from CERT; further certificates in CERT go out as the chain.
CERT_COUNT=0
[[ -f "$CERT" ]] && CERT_COUNT="$(grep -c -- '-----BEGIN CERTIFICATE-----' "$CERT")"
chain_only() { awk '/-----BEGIN CERTIFICATE-----/ {n++} n > 1' "$CERT"; }

# Key log: s_server/s_client write it with -keylogfile; an OpenSSL built with enable-sslkeylog would also follow the
# SSLKEYLOGFILE variable (every line twice), so the variable is dropped for them.
KEYLOG_ARGS=()
[[ -n "$SSLKEYLOGFILE" ]] && KEYLOG_ARGS=(-keylogfile "$SSLKEYLOGFILE")
CIPHER_ARGS=()
[[ -n "$CIPHER" ]] && CIPHER_ARGS=(-ciphersuites "$CIPHER")

# Readiness (peer.yaml: ready: { log: ... }): a background watcher prints "listening on udp|tcp port PORT" once a
# socket is bound to PORT (TCP: in LISTEN state), then exits. It starts before the server is exec'd.
announce_when_listening() {
  local proto=$1 hex files=() f
  hex="$(printf '%04X' "$PORT")"
  for f in "/proc/net/$proto" "/proc/net/${proto}6"; do [[ -r "$f" ]] && files+=("$f"); done
  (
    for _ in $(seq 1 400); do
      if awk -v p=":$hex" -v tcp="$([[ $proto == tcp ]] && echo 1 || echo 0)" \
        'FNR > 1 && substr($2, length($2) - 4) == p && (!tcp || $4 == "0A") { found = 1 } END { exit !found }' "${files[@]}"; then
        echo "$NAME endpoint: listening on $proto port $PORT" >&2
        exit 0
      fi
      sleep 0.05
    done
    echo "$NAME endpoint: nothing listening on $proto port $PORT after 20 s" >&2
  ) &
}

# =================================================================================================================
quic_server() {
  local prog="$PREFIX/bin/quic-hq-interop-server" alpn="${ALPN:-hq-interop}"
  case "$QUIC_VERSION" in 1) ;; *) unsupported "QUIC version $QUIC_VERSION (OpenSSL speaks QUIC v1 only)" ;; esac
  case "$TESTCASE" in
    handshake | transfer | retry | resumption | multiconnect | chacha20 | keyupdate | multiplexing) ;;
    http3) alpn=h3 ;;
    zerortt) unsupported "OpenSSL's QUIC stack has no 0-RTT" ;;
    v2) unsupported "OpenSSL's QUIC stack has no QUIC v2" ;;
    ecn) unsupported "OpenSSL's QUIC stack does not use ECN" ;;
    rebind-port | rebind-addr | connectionmigration) unsupported "$TESTCASE not supported by the OpenSSL demo server" ;;
    *) unsupported "unknown test case" ;;
  esac
  [[ -n "$CIPHER" ]] && log "note: CIPHER=$CIPHER is left to the client (the demo servers accept every TLS 1.3 suite)"
  # FILEPREFIX: the nghttp3 demo server concatenates it with the path as is (the trailing / matters).
  local env=(FILEPREFIX="${WWW%/}/")
  [[ "$TESTCASE" == retry ]] || env+=(NO_ADDR_VALIDATE=1)
  case "$alpn" in
    hq-interop) ;;
    h3)
      prog="$PREFIX/bin/ossl-nghttp3-demo-server"
      [[ -x "$prog" ]] || unsupported "no HTTP/3 server (install.sh could not build ossl-nghttp3-demo-server)"
      ;;
    *) unsupported "ALPN $alpn (the QUIC server speaks hq-interop and h3)" ;;
  esac
  [[ -x "$prog" ]] || die "$prog not found (run install.sh)"
  log "exec ${env[*]} $prog $PORT $CERT $KEY (listens on [::]:$PORT)"
  announce_when_listening udp
  exec env "${env[@]}" "$prog" "$PORT" "$CERT" "$KEY"
}

quic_client() {
  local prog="$PREFIX/bin/quic-hq-interop"
  [[ -x "$prog" ]] || die "$prog not found (run install.sh)"
  case "${ALPN:-hq-interop}" in
    hq-interop) ;;
    h3) unsupported "no HTTP/3 client (s_client -quic is not HTTP/3; the nghttp3 demo client fetches only /)" ;;
    *) unsupported "ALPN $ALPN (the QUIC client speaks hq-interop)" ;;
  esac
  case "$QUIC_VERSION" in 1) ;; *) unsupported "QUIC version $QUIC_VERSION (OpenSSL speaks QUIC v1 only)" ;; esac
  local mode=one suites="$CIPHER"
  case "$TESTCASE" in
    handshake | transfer | retry | multiplexing) ;;
    multiconnect) mode=each ;;
    resumption) mode=resume ;;
    chacha20) suites="${CIPHER:-TLS_CHACHA20_POLY1305_SHA256}" ;;
    zerortt) unsupported "OpenSSL's QUIC stack has no 0-RTT" ;;
    keyupdate) unsupported "the hq-interop demo client cannot initiate a key update" ;;
    v2) unsupported "OpenSSL's QUIC stack has no QUIC v2" ;;
    http3) unsupported "no HTTP/3 client" ;;
    ecn) unsupported "OpenSSL's QUIC stack does not use ECN" ;;
    rebind-port | rebind-addr | connectionmigration) unsupported "$TESTCASE not supported by the OpenSSL demo client" ;;
    *) unsupported "unknown test case" ;;
  esac
  [[ -n "$REQUESTS" ]] || die "REQUESTS is empty"
  mkdir -p "$DOWNLOADS" || die "cannot create $DOWNLOADS"
  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/crosswire-openssl.XXXXXX")" || die "mktemp failed"
  trap '[[ -n "$CHILD" ]] && kill -TERM "$CHILD" 2>/dev/null; rm -rf "$work"; exit 143' TERM INT HUP
  # The demo reads a file of space-separated paths, sends "GET /path" on one stream each, and writes
  # $DOWNLOADS/path (install.sh patched the hard-coded /downloads). The URL's host is the SNI and the name the
  # certificate is checked against; CONNECT_HOST (also an install.sh patch) is the address it sends to.
  local urls=() groups=() u i
  read -r -a urls <<<"$REQUESTS"
  case "$mode" in
    one) groups=("${urls[*]}") ;;
    each) for u in "${urls[@]}"; do groups+=("$u"); done ;;
    resume)
      groups=("${urls[0]}")
      [[ ${#urls[@]} -gt 1 ]] && groups+=("${urls[*]:1}")
      ;;
  esac
  local env=(CONNECT_HOST="$HOST" DOWNLOADS="$DOWNLOADS" SSL_CERT_FILE="$CA" SSL_CERT_DIR="$work/no-certs")
  [[ -n "$suites" ]] && env+=(SSL_CIPHER_SUITES="$suites")
  # SSL_SESSION_FILE: the first run (file absent) stores its first session there, later runs resume from it.
  [[ "$mode" == resume ]] && env+=(SSL_SESSION_FILE="$work/session.pem")
  local rc=0 n=0
  for i in "${!groups[@]}"; do
    local reqfile="$work/requests-$i.txt" names=() host=
    for u in ${groups[$i]}; do
      split_file_url "$u"
      [[ -z "$host" ]] && host="$url_host"
      [[ "$url_path" == "$url_name" ]] || die "$u: the demo client writes DOWNLOADS/<path>, paths with folders are not supported"
      names+=("$url_name")
    done
    printf '%s' "${names[*]}" >"$reqfile"
    n=$((n + 1))
    log "connection $n: env ${env[*]} $prog $host $PORT ($(wc -w <"$reqfile") request(s))"
    run env "${env[@]}" "$prog" "$host" "$PORT" "$reqfile"
    rc=$?
    [[ $rc -eq 0 ]] || { log "connection $n failed (exit $rc)"; break; }
    if [[ "$mode" == resume && $i -eq 0 && ! -s "$work/session.pem" ]]; then
      log "the first connection stored no session (no ticket arrived): the next one cannot resume"
      rc=1
      break
    fi
  done
  rm -rf "$work"
  [[ $rc -eq 0 ]] || exit 1
  exit 0
}

# =================================================================================================================
tls_server() {
  case "$TESTCASE" in
    handshake | transfer | resumption | keyupdate) ;; # key updates: libssl answers the client's KeyUpdate
    chacha20) [[ -n "$CIPHER" ]] || CIPHER_ARGS=(-ciphersuites TLS_CHACHA20_POLY1305_SHA256) ;;
    *) unsupported "TLS test case $TESTCASE" ;;
  esac
  cd "$WWW" || die "cannot cd into WWW=$WWW"
  local args=(s_server -tls1_3 -accept "$(hostport "$HOST" "$PORT")" -cert "$CERT" -key "$KEY"
    -WWW -http_server_binmode "${CIPHER_ARGS[@]}" "${KEYLOG_ARGS[@]}")
  [[ -n "$ALPN" ]] && args+=(-alpn "$ALPN")
  # TLS_GROUPS (comma-separated, preference order): a group the client sent no key share for draws a HelloRetryRequest.
  [[ -n "${TLS_GROUPS:-}" ]] && args+=(-groups "${TLS_GROUPS//,/:}")
  log "exec $OPENSSL ${args[*]} (in $WWW)"
  announce_when_listening tcp
  if [[ $CERT_COUNT -gt 1 ]]; then
    exec env -u SSLKEYLOGFILE "$OPENSSL" "${args[@]}" -cert_chain <(chain_only)
  fi
  exec env -u SSLKEYLOGFILE "$OPENSSL" "${args[@]}"
}

# crosswire fuzz-wire tls --peer --role client: s_client itself (exec, no sslio.pl), so a signal that kills it is the
# exit status fuzz-wire reads. One GET goes in on stdin, which then stays open (at EOF, -quiet's -ign_eof has s_client
# poll stdin in a loop): s_client ends when the server closes the connection (close_notify or TCP).
tls_fuzz_client() {
  local args=(s_client -tls1_3 -connect "$(hostport "$HOST" "$PORT")" -CAfile "$CA" -verify_return_error -quiet
    -servername localhost -verify_hostname localhost)
  [[ -n "$ALPN" ]] && args+=(-alpn "$ALPN")
  log "exec $OPENSSL ${args[*]}"
  exec env -u SSLKEYLOGFILE "$OPENSSL" "${args[@]}" < <(printf 'GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n'; exec sleep infinity)
}

tls_client() {
  local keyupdate=0 resume=0
  case "$TESTCASE" in
    handshake | transfer) ;;
    fuzz-wire) tls_fuzz_client ;;
    resumption) resume=1 ;;
    keyupdate) keyupdate=1 ;;
    chacha20) [[ -n "$CIPHER" ]] || CIPHER_ARGS=(-ciphersuites TLS_CHACHA20_POLY1305_SHA256) ;;
    *) unsupported "TLS test case $TESTCASE" ;;
  esac
  [[ -n "$REQUESTS" ]] || die "REQUESTS is empty"
  mkdir -p "$DOWNLOADS" || die "cannot create $DOWNLOADS"
  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/crosswire-openssl.XXXXXX")" || die "mktemp failed"
  trap '[[ -n "$CHILD" ]] && kill -TERM "$CHILD" 2>/dev/null; rm -rf "$work"; exit 143' TERM INT HUP
  local urls=() i rc=0
  read -r -a urls <<<"$REQUESTS"
  for i in "${!urls[@]}"; do
    split_file_url "${urls[$i]}"
    local args=(s_client -tls1_3 -connect "$(hostport "$HOST" "$PORT")" -CAfile "$CA" -verify_return_error -quiet
      "${CIPHER_ARGS[@]}" "${KEYLOG_ARGS[@]}")
    if is_ip "$url_host"; then args+=(-noservername -verify_ip "$url_host"); else args+=(-servername "$url_host" -verify_hostname "$url_host"); fi
    [[ -n "$ALPN" ]] && args+=(-alpn "$ALPN")
    local msgs="$work/msg-$i.txt"
    if [[ $resume -eq 1 ]]; then
      # First URL on a new session stored with -sess_out, the others resume it with -sess_in; -msgfile records the
      # handshake messages (a resumed TLS 1.3 handshake has no server Certificate).
      if [[ $i -eq 0 ]]; then args+=(-sess_out "$work/session.pem"); else args+=(-sess_in "$work/session.pem"); fi
      args+=(-msg -msgfile "$msgs")
    fi
    local get=(--out "$DOWNLOADS/$url_name" --request "GET /$url_path HTTP/1.0\\r\\nHost: $url_host\\r\\n\\r\\n")
    if [[ $keyupdate -eq 1 ]]; then
      # "K" alone on a line: s_client sends KeyUpdate(update_requested) before the request (command letters stay on
      # with -no_ign_eof); the whole response then comes under the server's updated keys.
      get+=(--keyupdate)
      args+=(-no_ign_eof)
    fi
    log "GET /$url_path: $OPENSSL ${args[*]}"
    run env -u SSLKEYLOGFILE "${SSLIO[@]}" http-get "${get[@]}" -- "$OPENSSL" "${args[@]}"
    rc=$?
    [[ $rc -eq 0 ]] || { log "GET /$url_path failed"; break; }
    if [[ $resume -eq 1 ]]; then
      [[ -s "$work/session.pem" ]] || { log "no session ticket arrived on the first connection"; rc=1; break; }
      if [[ $i -gt 0 ]]; then
        if grep -q '^<<< .*Handshake.*, Certificate$' "$msgs"; then log "connection $((i + 1)) was not resumed (full handshake)"; rc=1; break; fi
        log "connection $((i + 1)) resumed the session"
      fi
      cp "$msgs" "$LOGS/tls-messages-$i.txt" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
  [[ $rc -eq 0 ]] || exit 1
  exit 0
}

# =================================================================================================================
dtls_server() {
  case "$TESTCASE" in
    echo | handshake) ;;
    fuzz-wire) dtls_fuzz_server ;;
    *) unsupported "DTLS test case $TESTCASE (the DTLS server is an echo server)" ;;
  esac
  # -listen: stateless cookie exchange (HelloVerifyRequest) before any state; -quiet: stdout carries only the
  # received application data, which sslio.pl loops back into stdin (one record in, the same record out);
  # -naccept 1: sslio.pl starts a fresh s_server per client (s_server stays tied to its first client's address).
  # No -timeout here: with -listen, s_server takes the WANT_READ of a receive timeout during the handshake for a
  # failure ("ERROR") and drops the client.
  local args=(s_server -dtls1_2 -listen -naccept 1 -accept "$(hostport "$HOST" "$PORT")" -cert "$CERT" -key "$KEY"
    -quiet "${KEYLOG_ARGS[@]}")
  [[ -n "$ALPN" ]] && args+=(-alpn "$ALPN")
  [[ -n "$CIPHER" ]] && log "note: CIPHER=$CIPHER ignored (a TLS 1.3 suite; DTLS here is 1.2)"
  local work=
  if [[ $CERT_COUNT -gt 1 ]]; then
    work="$(mktemp -d "${TMPDIR:-/tmp}/crosswire-openssl.XXXXXX")" || die "mktemp failed"
    chain_only >"$work/chain.pem"
    args+=(-cert_chain "$work/chain.pem")
  fi
  log "exec sslio.pl echo-server -- $OPENSSL ${args[*]}"
  announce_when_listening udp
  # --idle: restart an s_server whose client went silent for that long without close_notify (see sslio.pl).
  exec env -u SSLKEYLOGFILE "${SSLIO[@]}" echo-server ${work:+--cleanup "$work"} --idle "${DTLS_IDLE_TIMEOUT:-180}" \
    --port "$PORT" -- "$OPENSSL" "${args[@]}"
}

# crosswire fuzz-wire dtls --peer: ONE long-lived crosswire ossl-dtls-server (ossl-dtls-server.c, built against this
# peer's libssl by build-ossl-program.sh) serving every client concurrently, so any exit is a crash and a failed
# clean handshake is a hang. Not s_server -listen: it connect()s its socket to each client it accepts and, after a
# failed handshake or a closed connection, hears no one else.
dtls_fuzz_server() {
  local prog="${OSSL_DTLS_SERVER:-$PREFIX/bin/ossl-dtls-server}"
  [[ -x "$prog" ]] || die "$prog not found (run install.sh / setup.sh)"
  local args=(--host "$HOST" --port "$PORT" --cert "$CERT" --key "$KEY")
  [[ -n "$ALPN" ]] && args+=(--alpn "$ALPN")
  [[ -n "$SSLKEYLOGFILE" ]] && args+=(--keylog "$SSLKEYLOGFILE")
  log "exec $prog ${args[*]}"
  # It prints the readiness line ("listening on udp port P") itself once its socket is bound.
  exec "$prog" "${args[@]}"
}

# crosswire fuzz-wire dtls --peer --role client: s_client itself (exec), as for TLS. One line on stdin, which stays
# open; s_client ends on the server's close_notify or alert, or when its handshake gives up. -timeout: as in
# dtls_client below (a discarded datagram must not leave it blocked in recvfrom()).
dtls_fuzz_client() {
  local args=(s_client -dtls1_2 -connect "$(hostport "$HOST" "$PORT")" -CAfile "$CA" -verify_return_error -quiet -timeout
    -servername localhost -verify_hostname localhost)
  [[ -n "$ALPN" ]] && args+=(-alpn "$ALPN")
  log "exec $OPENSSL ${args[*]}"
  exec env -u SSLKEYLOGFILE "$OPENSSL" "${args[@]}" < <(printf 'crosswire fuzz-wire dtls\n'; exec sleep infinity)
}

dtls_client() {
  case "$TESTCASE" in
    echo | handshake) ;;
    fuzz-wire) dtls_fuzz_client ;;
    *) unsupported "DTLS test case $TESTCASE (the DTLS client is an echo client)" ;;
  esac
  mkdir -p "$DOWNLOADS" || die "cannot create $DOWNLOADS"
  # Server name: the host of the first URL in REQUESTS when there is one, else localhost (the certificates' name).
  local host=localhost
  if [[ -n "$REQUESTS" ]]; then split_url "${REQUESTS%% *}"; host="$url_host"; fi
  # -no_ign_eof -nocommands: stdin EOF ends the connection with close_notify (the s_server echo serves one client at
  # a time and takes the next only after that); no message is mistaken for a command letter.
  # -brief: quiet, plus "CONNECTION ESTABLISHED" on stderr once the handshake is done (sslio.pl times from there).
  # -timeout: a 250 ms receive timeout on the socket; without it a duplicated datagram after the handshake (discarded)
  # leaves s_client blocked in recvfrom(), never sending the messages waiting on its stdin.
  local args=(s_client -dtls1_2 -connect "$(hostport "$HOST" "$PORT")" -CAfile "$CA" -verify_return_error
    -brief -no_ign_eof -nocommands -timeout "${KEYLOG_ARGS[@]}")
  if is_ip "$host"; then args+=(-noservername -verify_ip "$host"); else args+=(-servername "$host" -verify_hostname "$host"); fi
  [[ -n "$ALPN" ]] && args+=(-alpn "$ALPN")
  if [[ -z "${MESSAGES:-}" || ! -s "${MESSAGES:-}" ]]; then
    [[ "$TESTCASE" == handshake ]] || die "MESSAGES is not set or empty"
    log "handshake only: $OPENSSL ${args[*]} </dev/null"
    run env -u SSLKEYLOGFILE "$OPENSSL" "${args[@]}" </dev/null
    exit $?
  fi
  log "sslio.pl echo-client --messages $MESSAGES --out $DOWNLOADS/echo -- $OPENSSL ${args[*]}"
  run env -u SSLKEYLOGFILE "${SSLIO[@]}" echo-client --messages "$MESSAGES" --out "$DOWNLOADS/echo" \
    --timeout "${ECHO_TIMEOUT:-30}" --handshake-timeout "${ECHO_HANDSHAKE_TIMEOUT:-120}" -- "$OPENSSL" "${args[@]}"
  exit $?
}

# =================================================================================================================
case "$PROTOCOL" in
  quic)
    [[ "${OPENSSL_NO_QUIC:-0}" == 1 ]] && unsupported "QUIC (this OpenSSL has no QUIC server/interop programs)"
    if [[ "$ROLE" == server ]]; then quic_server; else quic_client; fi
    ;;
  tls) if [[ "$ROLE" == server ]]; then tls_server; else tls_client; fi ;;
  dtls) if [[ "$ROLE" == server ]]; then dtls_server; else dtls_client; fi ;;
  *) unsupported "protocol $PROTOCOL" ;;
esac
