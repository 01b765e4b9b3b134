#!/usr/bin/env bash
# `crosswire peers install openssl`: OpenSSL 3.5 and its demo programs (install.sh, the step the Docker image runs
# too), then crosswire's own programs against it (build-ossl-program.sh), native only: ossl-quic-api and
# ossl-dtls-server (the DTLS server of `fuzz-wire dtls --peer openssl`).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/install.sh"
bash "$HERE/build-ossl-program.sh" ossl-quic-api 3.5
bash "$HERE/build-ossl-program.sh" ossl-dtls-server 3.5
