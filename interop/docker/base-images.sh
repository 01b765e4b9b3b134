#!/usr/bin/env bash
# Makes the two base images the Dockerfiles take as build arguments, for machines that cannot pull from an image
# registry (only the Debian archive and the npm registry reachable). Each is made only when missing.
#   crosswire/debian:bookworm  debootstrap --variant=minbase bookworm + docker import; apt sources as in the official
#                              debian:bookworm image (bookworm, bookworm-updates, bookworm-security)  → BASE_IMAGE
#   crosswire/node:20          that image plus this machine's Node (>= 20) and npm under /usr/local, where the official
#                              node:20-bookworm-slim image has them                                     → NODE_IMAGE
#                              If this machine reaches npm through a TLS-intercepting proxy, its CA bundle
#                              ($NODE_EXTRA_CA_CERTS, else the certificates in /usr/local/share/ca-certificates) goes
#                              into this build-stage image as NODE_EXTRA_CA_CERTS; final peer images never carry it.
# Usage: interop/docker/base-images.sh [--force]   Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian)
set -euo pipefail
BASE=crosswire/debian:bookworm
NODE=crosswire/node:20
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Bumped when what this script puts into the node image changes: a node image of an older recipe is remade.
RECIPE=2
FORCE=0; [[ ${1:-} == --force ]] && FORCE=1
have() { [[ $FORCE == 0 ]] && docker image inspect "$1" >/dev/null 2>&1; }
have_recipe() {
  [[ $FORCE == 0 ]] && [[ "$(docker image inspect -f '{{index .Config.Labels "org.crosswire.recipe"}}' "$1" 2>/dev/null)" == "$RECIPE" ]]
}
docker info >/dev/null 2>&1 || { echo "base-images.sh: no Docker engine (is dockerd running?)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/crosswire-base.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

if have "$BASE"; then
  echo "$BASE: present"
else
  command -v debootstrap >/dev/null || { echo "base-images.sh: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 2; }
  t=$SECONDS
  echo "$BASE: debootstrap --variant=minbase bookworm from $MIRROR (log: $WORK/debootstrap.log)"
  if ! debootstrap --variant=minbase bookworm "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
    tail -n 20 "$WORK/debootstrap.log" >&2
    cp "$WORK/debootstrap.log" /tmp/crosswire-debootstrap.log
    echo "base-images.sh: debootstrap failed (log: /tmp/crosswire-debootstrap.log)" >&2
    exit 1
  fi
  rm -f "$WORK/rootfs/etc/apt/sources.list"
  cat >"$WORK/rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/* "$WORK"/rootfs/var/log/*.log
  tar -C "$WORK/rootfs" -c . | docker import --change 'CMD ["bash"]' - "$BASE" >/dev/null
  echo "$BASE: imported in $((SECONDS - t)) s ($(docker image inspect -f '{{.Size}}' "$BASE" | awk '{printf "%.0f MB", $1/1e6}'))"
fi

if have_recipe "$NODE"; then
  echo "$NODE: present"
else
  node_bin=$(command -v node) || { echo "base-images.sh: node is not installed on this machine" >&2; exit 2; }
  major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
  [[ $major -ge 20 ]] || { echo "base-images.sh: this machine's node is $("$node_bin" --version); crosswire needs >= 20" >&2; exit 2; }
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  [[ -f $npm_dir/package.json ]] || { echo "base-images.sh: npm's folder not found (got $npm_dir)" >&2; exit 2; }
  mkdir -p "$WORK/node"
  cp "$(readlink -f "$node_bin")" "$WORK/node/node"
  cp -a "$npm_dir" "$WORK/node/npm"
  : >"$WORK/node/extra-ca.pem"
  if [[ -n ${NODE_EXTRA_CA_CERTS:-} && -f $NODE_EXTRA_CA_CERTS ]]; then
    cat "$NODE_EXTRA_CA_CERTS" >>"$WORK/node/extra-ca.pem"
  else
    for c in /usr/local/share/ca-certificates/*.crt; do [[ -f $c ]] && cat "$c" >>"$WORK/node/extra-ca.pem"; done
  fi
  ca_note=""; [[ -s $WORK/node/extra-ca.pem ]] && ca_note=" and this machine's CA bundle for npm"
  cat >"$WORK/node/Dockerfile" <<DOCKERFILE
FROM $BASE
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY extra-ca.pem /usr/local/share/crosswire-extra-ca.pem
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/crosswire-extra-ca.pem
LABEL org.crosswire.recipe=$RECIPE
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
DOCKERFILE
  docker build -q -t "$NODE" "$WORK/node" >"$WORK/node-build.log" 2>&1 || { cat "$WORK/node-build.log" >&2; exit 1; }
  echo "$NODE: node $("$node_bin" --version) and npm $(docker run --rm "$NODE" npm --version) from this machine$ca_note"
fi
