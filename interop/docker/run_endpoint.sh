#!/usr/bin/env bash
# /run_endpoint.sh of every crosswire image: quic-interop-runner's endpoint contract (ROLE, TESTCASE, REQUESTS; /www,
# /downloads, /certs/{priv.key,cert.pem}, SSLKEYLOGFILE=/logs/keys.log, QLOGDIR=/logs/qlog/; exit 127 = unsupported)
# mapped onto the peer's own endpoint.sh (interop/peers/<peer>/endpoint.sh), which speaks the same contract with a few
# extra variables (HOST, PORT, CERT, KEY, CA, WWW, DOWNLOADS, PROTOCOL, ALPN, ...). Whatever crosswire passes wins;
# in a plain QIR run those extras come from QIR's fixed paths and rules here.
#   CROSSWIRE_PEER    the peer folder under /crosswire/interop/peers (set by the Dockerfile)
#   CROSSWIRE_ALPNS   the ALPNs this image speaks; QIR's rule (h3 for http3, hq-interop otherwise) picks one
#   CROSSWIRE_LISTEN  the server's listen address when HOST is unset (all addresses)
set -uo pipefail
PEER=${CROSSWIRE_PEER:?CROSSWIRE_PEER is not set in this image}
ENDPOINT=/crosswire/interop/peers/$PEER/endpoint.sh
say() { echo "crosswire/$PEER run_endpoint.sh: $*" >&2; }

ROLE=${ROLE:-}
[[ $ROLE == client || $ROLE == server ]] || { say "ROLE must be client or server (got '$ROLE')"; exit 1; }
export ROLE TESTCASE=${TESTCASE:-} REQUESTS=${REQUESTS:-}
[[ -n $TESTCASE ]] || { say "TESTCASE is not set"; exit 1; }
export PROTOCOL=${PROTOCOL:-quic}

# QIR's fixed paths.
export CERTS=${CERTS:-/certs} WWW=${WWW:-/www} DOWNLOADS=${DOWNLOADS:-/downloads} LOGS=${LOGS:-/logs}
export CERT=${CERT:-$CERTS/cert.pem} KEY=${KEY:-$CERTS/priv.key}
# QIR gives no trust anchor (its clients do not verify): trust the chain the server presents.
if [[ -z ${CA:-} ]]; then [[ -f $CERTS/ca.pem ]] && CA=$CERTS/ca.pem || CA=$CERT; fi
export CA
export SSLKEYLOGFILE=${SSLKEYLOGFILE:-/logs/keys.log} QLOGDIR=${QLOGDIR:-/logs/qlog/}
mkdir -p "$LOGS" "$QLOGDIR" 2>/dev/null || true
[[ $ROLE == client ]] && { mkdir -p "$DOWNLOADS" 2>/dev/null || true; }

# ALPN: QIR has no variable for it; its rule is h3 for the http3 test case and hq-interop for every other one.
if [[ -z ${ALPN:-} && $PROTOCOL == quic ]]; then
  if [[ $TESTCASE == http3 ]]; then ALPN=h3; else ALPN=hq-interop; fi
fi
export ALPN=${ALPN:-}
if [[ -n $ALPN && -n ${CROSSWIRE_ALPNS:-} && " $CROSSWIRE_ALPNS " != *" $ALPN "* ]]; then
  say "unsupported: test case $TESTCASE needs ALPN $ALPN; this image speaks ${CROSSWIRE_ALPNS}"
  exit 127
fi

if [[ $ROLE == server ]]; then
  # QIR servers listen on port 443 on every address; crosswire's host-network runs pass PORT (one port per cell).
  export HOST=${HOST:-${CROSSWIRE_LISTEN:-::}} PORT=${PORT:-443}
else
  # The server's address: the first request's authority (QIR: https://server4:443/file).
  first=${REQUESTS%% *}
  auth=${first#*://}
  auth=${auth%%/*}
  if [[ $auth == \[* ]]; then
    h=${auth#[}; h=${h%%]*}; p=${auth##*]}; p=${p#:}
  else
    h=${auth%%:*}; p=; [[ $auth == *:* ]] && p=${auth##*:}
  fi
  export HOST=${HOST:-$h} PORT=${PORT:-${p:-443}}
fi
export SERVER=${SERVER:-$HOST:$PORT}
[[ -x $ENDPOINT ]] || { say "$ENDPOINT is missing"; exit 1; }
exec "$ENDPOINT"
