#!/usr/bin/env bash
# `crosswire peers install openssl`: OpenSSL 3.5 and its demo programs (install.sh, the step the Docker image runs
# too), then crosswire's own programs against it, native only: ossl-quic-api (build-ossl-quic-api.sh) and
# ossl-dtls-server (build-ossl-dtls-server.sh, the DTLS server of `fuzz-wire dtls --peer openssl`).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/install.sh"
bash "$HERE/build-ossl-quic-api.sh"
bash "$HERE/build-ossl-dtls-server.sh" 3.5
