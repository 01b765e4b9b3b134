#!/usr/bin/env bash
# Installs ngtcp2 1.11's example client and server (gtlsclient/gtlsserver, GnuTLS) from Debian bookworm-backports.
# The single install step for the ngtcp2 peer: `crosswire peers install ngtcp2` and interop/docker/ngtcp2/Dockerfile.
set -euo pipefail
WANT=1.11
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
if [[ "$(installed ngtcp2-server)" == $WANT* && "$(installed ngtcp2-client)" == $WANT* ]]; then
  echo "ngtcp2 $(installed ngtcp2-server) already installed (/usr/sbin/gtlsserver, /usr/bin/gtlsclient)"
  exit 0
fi

SRC=/etc/apt/sources.list.d/crosswire-bookworm-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "adding bookworm-backports to apt sources ($SRC)"
  $SUDO tee "$SRC" >/dev/null <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  $SUDO apt-get update -qq
fi
echo "apt-get install ngtcp2-server ngtcp2-client from bookworm-backports"
if ! $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports ngtcp2-server ngtcp2-client >/dev/null; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports ngtcp2-server ngtcp2-client >/dev/null \
    || { echo "ngtcp2: apt-get install from bookworm-backports failed" >&2; exit 1; }
fi
v="$(installed ngtcp2-server)"
[[ "$v" == $WANT* ]] || { echo "ngtcp2: expected version $WANT, got '$v'" >&2; exit 1; }
echo "ngtcp2 $v installed (/usr/sbin/gtlsserver, /usr/bin/gtlsclient)"
