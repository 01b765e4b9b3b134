#!/usr/bin/env bash
# crosswire endpoint for Debian 12's system OpenSSL 3.0 (/usr/bin/openssl): TLS 1.3 (s_server -WWW / s_client) and
# DTLS 1.2 (s_server -listen echo / s_client). OpenSSL 3.0 has no QUIC server, so PROTOCOL=quic exits 127.
# The behaviour is the openssl peer's endpoint.sh, run with this binary and QUIC switched off.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export OPENSSL_BIN="${OPENSSL_BIN:-/usr/bin/openssl}" OPENSSL_NO_QUIC=1 OPENSSL_PEER_NAME=openssl-3.0
# TESTCASE=fuzz-wire: crosswire's ossl-dtls-server linked against this same system libssl (install.sh builds it).
export OSSL_DTLS_SERVER="${OSSL_DTLS_SERVER:-${CROSSWIRE_CACHE:-$HOME/.cache/crosswire}/openssl-3.0-dtls/bin/ossl-dtls-server}"
exec "$here/../openssl/endpoint.sh" "$@"
