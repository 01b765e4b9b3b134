#!/usr/bin/env bash
# Installs the openssl-3.0 peer: Debian 12's openssl package (/usr/bin/openssl, OpenSSL 3.0.x). perl (for the
# endpoint's I/O helper, ../openssl/sslio.pl) is part of every Debian system (perl-base).
set -euo pipefail
if [[ -x /usr/bin/openssl ]] && dpkg-query -W -f '${Status}' openssl 2>/dev/null | grep -q 'install ok installed'; then
  echo "openssl $(dpkg-query -W -f '${Version}' openssl) already installed ($(/usr/bin/openssl version))"
  exit 0
fi
SUDO=()
if [[ $EUID -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=(sudo -n); else echo "openssl-3.0 install failed: needs root (or passwordless sudo) for apt-get" >&2; exit 1; fi
fi
echo "==> apt-get install -y openssl"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get install -y --no-install-recommends openssl >/dev/null || { echo "openssl-3.0 install failed: apt-get install openssl" >&2; exit 1; }
echo "installed $(/usr/bin/openssl version)"
