#!/usr/bin/env bash
# Installs the openssl-3.0 peer: Debian 12's openssl package (/usr/bin/openssl, OpenSSL 3.0.x) and libssl-dev, then
# crosswire's ossl-dtls-server against that libssl (../openssl/build-ossl-program.sh ossl-dtls-server system: the DTLS server of
# `fuzz-wire dtls --peer openssl-3.0`). perl (for the endpoint's I/O helper, ../openssl/sslio.pl) is part of every
# Debian system (perl-base).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
installed() { dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
[[ -x /usr/bin/openssl ]] && installed openssl || missing+=(openssl)
installed libssl-dev || missing+=(libssl-dev)
if [[ ${#missing[@]} -gt 0 ]]; then
  SUDO=()
  if [[ $EUID -ne 0 ]]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=(sudo -n); else echo "openssl-3.0 install failed: needs root (or passwordless sudo) for apt-get" >&2; exit 1; fi
  fi
  echo "==> apt-get install -y ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null || { echo "openssl-3.0 install failed: apt-get install ${missing[*]}" >&2; exit 1; }
fi
echo "openssl $(dpkg-query -W -f '${Version}' openssl) installed ($(/usr/bin/openssl version))"
bash "$HERE/../openssl/build-ossl-program.sh" ossl-dtls-server system
