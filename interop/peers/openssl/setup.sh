#!/usr/bin/env bash
# `crosswire peers install openssl`: OpenSSL 3.5 and its demo programs (install.sh, the step the Docker image runs
# too), then crosswire's ossl-quic-api against it (build-ossl-quic-api.sh, native only).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/install.sh"
bash "$HERE/build-ossl-quic-api.sh"
