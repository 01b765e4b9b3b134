#!/usr/bin/env bash
# Installs the `openssl` peer: OpenSSL 3.5 (LTS) built from Debian trixie's source package, plus OpenSSL's QUIC
# hq-interop demo client/server and (when libnghttp3-dev allows) the nghttp3 HTTP/3 demo server.
#
# Result: ${CROSSWIRE_CACHE:-$HOME/.cache/crosswire}/openssl-<upstream version>/ with bin/openssl,
# bin/quic-hq-interop, bin/quic-hq-interop-server, [bin/ossl-nghttp3-demo-server], lib/libssl.so.3 ...; the
# binaries carry an rpath to that lib/ folder. A stable link openssl-3.5 -> openssl-<version> is what peer.yaml and
# endpoint.sh use. The marker file .crosswire-complete is written last: a folder without it is rebuilt.
#
# Only a deb-src entry for trixie is added (binary packages of trixie never become installable here).
# Environment: CROSSWIRE_CACHE (cache root), OPENSSL_DEB_VERSION (force one Debian source version, e.g. 3.5.7-1~deb13u2).
set -euo pipefail

SERIES=3.5
CACHE="${CROSSWIRE_CACHE:-$HOME/.cache/crosswire}"
LINK="$CACHE/openssl-$SERIES"
MARKER=.crosswire-complete
SOURCES_FILE=/etc/apt/sources.list.d/crosswire-trixie-src.sources
POOL=http://deb.debian.org/debian/pool/main/o/openssl

PHASE=setup
WORK=
fail() { echo "openssl install failed: $*" >&2; exit 1; }
on_error() {
  local rc=$?
  if [[ -n "$WORK" && -f "$WORK/phase.log" ]]; then
    echo "--- last lines of $WORK/phase.log ---" >&2
    tail -n 25 "$WORK/phase.log" >&2 || true
    echo "--- (build folder kept: $WORK) ---" >&2
    WORK_KEEP=1
  fi
  echo "openssl install failed during phase '$PHASE' (exit $rc)" >&2
  exit 1
}
trap on_error ERR
WORK_KEEP=0
cleanup() { if [[ -n "$WORK" && "$WORK_KEEP" == 0 ]]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

# Phase timing: `phase NAME` starts one, `phase_done` prints its duration.
PHASE_START=0
phase() { PHASE="$1"; PHASE_START=$SECONDS; echo "==> $1"; }
phase_done() { echo "    done in $((SECONDS - PHASE_START)) s"; }
# Runs a noisy command with its output in $WORK/phase.log (shown on failure).
logged() { "$@" >"$WORK/phase.log" 2>&1; }

complete_dir() { [[ -f "$1/$MARKER" && -x "$1/bin/openssl" && -x "$1/bin/quic-hq-interop" && -x "$1/bin/quic-hq-interop-server" ]]; }

already_installed() {
  local dir=
  if [[ -n "${OPENSSL_DEB_VERSION:-}" ]]; then
    local up="${OPENSSL_DEB_VERSION#*:}"
    up="${up%-*}"
    complete_dir "$CACHE/openssl-$up" && dir="$CACHE/openssl-$up"
  elif complete_dir "$LINK"; then
    dir="$(readlink -f "$LINK")"
  else
    # A complete versioned folder whose link is missing: take the newest one.
    local d
    for d in $(ls -d "$CACHE/openssl-$SERIES".* 2>/dev/null | sort -V -r); do
      if complete_dir "$d"; then dir="$d"; break; fi
    done
  fi
  [[ -n "$dir" ]] || return 1
  ln -sfn "$(basename "$dir")" "$LINK"
  echo "openssl $(basename "$dir" | sed 's/^openssl-//') already installed in $dir"
}

mkdir -p "$CACHE"
# One install at a time per cache (two runners starting at once would otherwise build twice into one folder).
exec 9>"$CACHE/.openssl-$SERIES.lock"
flock 9

if already_installed; then exit 0; fi

# ---------------------------------------------------------------------------------------------------------------
phase "checking privileges and build dependencies"
SUDO=()
if [[ $EUID -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=(sudo -n); else fail "needs root (or passwordless sudo) for apt-get"; fi
fi
export DEBIAN_FRONTEND=noninteractive
WORK="$(mktemp -d "$CACHE/.openssl-build.XXXXXX")"
chmod 755 "$WORK"
# Keyring: trixie's Release is signed with the 13/trixie archive keys; bookworm's debian-archive-keyring ships them
# since 2023.3+deb12u2 (bookworm-updates). Check before apt-get update fails with NO_PUBKEY.
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
if command -v gpg >/dev/null && ! gpg --show-keys --with-colons "$KEYRING" 2>/dev/null | grep -q 'trixie'; then
  echo "    $KEYRING lacks the trixie keys; upgrading debian-archive-keyring"
  logged "${SUDO[@]}" apt-get install -y --only-upgrade debian-archive-keyring
  gpg --show-keys --with-colons "$KEYRING" 2>/dev/null | grep -q 'trixie' || fail "$KEYRING has no Debian 13/trixie signing key"
fi
phase_done

phase "adding deb-src for trixie ($SOURCES_FILE) and apt-get update"
WANT_SOURCES="# crosswire openssl peer: Debian trixie SOURCE packages only (no binary packages from trixie).
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie trixie-updates
Components: main
Signed-By: $KEYRING

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: trixie-security
Components: main
Signed-By: $KEYRING
"
if [[ ! -f "$SOURCES_FILE" ]] || [[ "$(cat "$SOURCES_FILE")" != "${WANT_SOURCES%$'\n'}" ]]; then
  printf '%s' "$WANT_SOURCES" | "${SUDO[@]}" tee "$SOURCES_FILE" >/dev/null
fi
logged "${SUDO[@]}" apt-get update || fail "apt-get update failed (see $WORK/phase.log)"
phase_done

phase "installing build dependencies (build-essential perl dpkg-dev curl libnghttp3-dev)"
logged "${SUDO[@]}" apt-get install -y --no-install-recommends build-essential perl dpkg-dev curl ca-certificates
# libnghttp3-dev is only for the optional HTTP/3 demo server.
if ! "${SUDO[@]}" apt-get install -y --no-install-recommends libnghttp3-dev >>"$WORK/phase.log" 2>&1; then
  echo "    libnghttp3-dev not installable: the HTTP/3 demo server will be skipped"
fi
phase_done

# ---------------------------------------------------------------------------------------------------------------
phase "fetching the OpenSSL $SERIES source package"
if [[ -n "${OPENSSL_DEB_VERSION:-}" ]]; then
  VERSIONS=("$OPENSSL_DEB_VERSION")
else
  mapfile -t VERSIONS < <(apt-cache showsrc openssl 2>/dev/null | awk '/^Version:/ {print $2}' | grep -E "^([0-9]+:)?${SERIES//./\\.}\." | sort -u -V -r)
fi
[[ ${#VERSIONS[@]} -gt 0 ]] || fail "apt-cache showsrc openssl lists no $SERIES.x version (is the trixie deb-src entry active?)"
echo "    candidate source versions, newest first: ${VERSIONS[*]}"
SRC=
DEBVER=
n=0
for v in "${VERSIONS[@]}"; do
  n=$((n + 1))
  d="$WORK/try-$n"
  mkdir -p "$d"
  chown _apt "$d" 2>/dev/null || true # apt downloads as _apt when it can write the folder
  echo "    apt-get source --download-only openssl=$v"
  if (cd "$d" && apt-get source --download-only "openssl=$v") >"$WORK/phase.log" 2>&1; then
    dsc="$(ls "$d"/*.dsc)"
    if logged dpkg-source -x "$dsc" "$d/src"; then
      SRC="$d/src"
      DEBVER="$v"
      break
    fi
    echo "    dpkg-source -x failed for $v"
  else
    echo "    not downloadable: $(grep -m1 -E '^E: ' "$WORK/phase.log" || echo 'apt-get source failed')"
  fi
done
if [[ -z "$SRC" ]]; then
  # Last resort: the upstream tarball straight from the pool, checked against the SHA-256 in the signed Sources index.
  for v in "${VERSIONS[@]}"; do
    up="${v#*:}"
    up="${up%-*}"
    tarball="openssl_$up.orig.tar.gz"
    sha="$(apt-cache showsrc "openssl=$v" 2>/dev/null | awk -v f="$tarball" '/^Checksums-Sha256:/ {s=1; next} /^[^ ]/ {s=0} s && $3 == f {print $1; exit}')"
    echo "    downloading $POOL/$tarball"
    d="$WORK/orig-$up"
    mkdir -p "$d"
    if curl -fsSL -o "$d/$tarball" "$POOL/$tarball" 2>"$WORK/phase.log"; then
      if [[ -n "$sha" ]] && ! echo "$sha  $d/$tarball" | sha256sum -c --quiet - >/dev/null 2>&1; then
        echo "    $tarball: SHA-256 mismatch against the Sources index, skipped"
        continue
      fi
      mkdir -p "$d/src"
      logged tar -xzf "$d/$tarball" -C "$d/src" --strip-components=1
      SRC="$d/src"
      DEBVER="$up (upstream orig tarball, without Debian patches)"
      break
    fi
    echo "    not downloadable either"
  done
fi
[[ -n "$SRC" ]] || fail "no OpenSSL $SERIES source could be downloaded (tried ${VERSIONS[*]} and their orig tarballs)"
UPSTREAM="$(sed -nE 's/^VERSION=([0-9.]+).*/\1/p' "$SRC/VERSION.dat" 2>/dev/null || true)"
if [[ -z "$UPSTREAM" ]]; then
  UPSTREAM="$(sed -nE 's/^MAJOR=([0-9]+)/\1/p' "$SRC/VERSION.dat").$(sed -nE 's/^MINOR=([0-9]+)/\1/p' "$SRC/VERSION.dat").$(sed -nE 's/^PATCH=([0-9]+)/\1/p' "$SRC/VERSION.dat")"
fi
[[ "$UPSTREAM" =~ ^${SERIES//./\\.}\.[0-9]+$ ]] || fail "unexpected OpenSSL version '$UPSTREAM' in $SRC/VERSION.dat"
PREFIX="$CACHE/openssl-$UPSTREAM"
echo "    source: openssl $DEBVER -> OpenSSL $UPSTREAM, installing into $PREFIX"
phase_done

if complete_dir "$PREFIX"; then
  ln -sfn "$(basename "$PREFIX")" "$LINK"
  echo "openssl $UPSTREAM already installed in $PREFIX"
  exit 0
fi
rm -rf "$PREFIX" # an incomplete earlier attempt

# ---------------------------------------------------------------------------------------------------------------
JOBS="$(nproc 2>/dev/null || echo 2)"
phase "configuring OpenSSL $UPSTREAM (shared, rpath $PREFIX/lib, SSLKEYLOGFILE support, no docs/tests)"
# enable-sslkeylog: libssl honours the SSLKEYLOGFILE environment variable (off by default in 3.5).
(cd "$SRC" && logged ./Configure --prefix="$PREFIX" --openssldir="$PREFIX/ssl" --libdir=lib \
  shared enable-sslkeylog no-docs no-tests "-Wl,-rpath,$PREFIX/lib")
phase_done

phase "building (make -j$JOBS build_sw)"
(cd "$SRC" && logged make -j"$JOBS" build_sw)
phase_done

phase "installing (make install_sw install_ssldirs)"
(cd "$SRC" && logged make install_sw install_ssldirs)
phase_done

# ---------------------------------------------------------------------------------------------------------------
phase "compiling the QUIC hq-interop demo client and server"
HQ="$SRC/test/quic-openssl-docker/hq-interop"
[[ -f "$HQ/quic-hq-interop.c" && -f "$HQ/quic-hq-interop-server.c" ]] || fail "hq-interop sources missing under $HQ"
CC_FLAGS=(-O2 -g -Wall -I"$PREFIX/include")
LD_FLAGS=(-L"$PREFIX/lib" -Wl,-rpath,"$PREFIX/lib" -lssl -lcrypto)
# Two small source edits for running outside the interop container (nothing else changes):
#  - downloads go to $DOWNLOADS instead of the hard-coded /downloads;
#  - CONNECT_HOST, when set, is the address the client sends to, while the command-line hostname stays the SNI and the
#    name the certificate is checked against (the URL says localhost, the server listens on 127.0.0.1 or ::1).
cp "$HQ/quic-hq-interop.c" "$WORK/quic-hq-interop.c"
sed -i \
  -e 's|BIO_snprintf(outfilename, REQ_STRING_SZ, "/downloads/%s", req);|BIO_snprintf(outfilename, REQ_STRING_SZ, "%s/%s", getenv("DOWNLOADS") != NULL ? getenv("DOWNLOADS") : "/downloads", req);|' \
  -e 's|bio = create_socket_bio(hostname, port, &peer_addr);|bio = create_socket_bio(getenv("CONNECT_HOST") != NULL ? getenv("CONNECT_HOST") : hostname, port, \&peer_addr);|' \
  "$WORK/quic-hq-interop.c"
grep -q 'getenv("DOWNLOADS")' "$WORK/quic-hq-interop.c" || fail "quic-hq-interop.c: the /downloads line was not found (source changed?)"
grep -q 'getenv("CONNECT_HOST")' "$WORK/quic-hq-interop.c" || fail "quic-hq-interop.c: the create_socket_bio call was not found (source changed?)"
logged gcc "${CC_FLAGS[@]}" -o "$PREFIX/bin/quic-hq-interop" "$WORK/quic-hq-interop.c" "${LD_FLAGS[@]}"
logged gcc "${CC_FLAGS[@]}" -o "$PREFIX/bin/quic-hq-interop-server" "$HQ/quic-hq-interop-server.c" "${LD_FLAGS[@]}"
echo "    $PREFIX/bin/quic-hq-interop, $PREFIX/bin/quic-hq-interop-server"
phase_done

phase "compiling the nghttp3 HTTP/3 demo server (optional)"
H3="$SRC/demos/http3"
H3_SKIP=
if [[ ! -f "$H3/ossl-nghttp3-demo-server.c" ]]; then
  H3_SKIP="no demos/http3/ossl-nghttp3-demo-server.c in this source"
elif [[ ! -f /usr/include/nghttp3/nghttp3.h ]]; then
  H3_SKIP="no nghttp3 headers (libnghttp3-dev)"
fi
if [[ -z "$H3_SKIP" ]]; then
  # Two source edits, each checked:
  #  - NO_ADDR_VALIDATE, as in the hq-interop server, turns address validation (Retry) off; the demo always does it;
  #  - a write that meets a full stream send buffer (flow control) waits for room instead of ending the server, which
  #    otherwise dies on any response larger than about 64 KB.
  cp "$H3/ossl-nghttp3-demo-server.c" "$WORK/h3-server.c"
  sed -i 's|SSL_new_listener(ctx, 0)|SSL_new_listener(ctx, getenv("NO_ADDR_VALIDATE") != NULL ? SSL_LISTENER_FLAG_NO_VALIDATE : 0)|' "$WORK/h3-server.c"
  perl -0777 -i -e '
    my $s = <>;
    my $loop = join "\n",
      "            /* crosswire: a full stream buffer (flow control) means wait, not fail */",
      "            size_t done = 0, n;",
      "            while (done < len) {",
      "                n = 0;",
      "                if (SSL_write_ex2(ssl_ids[i].s, buff + done, len - done, 0, &n)) {",
      "                    done += n;",
      "                    continue;",
      "                }",
      "                if (SSL_get_error(ssl_ids[i].s, 0) != SSL_ERROR_WANT_WRITE) {",
      "                    fprintf(stderr, \"couldn\x27t write on connection\\n\");",
      "                    ERR_print_errors_fp(stderr);",
      "                    return 0;",
      "                }",
      "                SSL_handle_events(ssl_ids[i].s);",
      "                usleep(1000);",
      "            }",
      "            if ((flags & SSL_WRITE_FLAG_CONCLUDE) != 0 && !SSL_stream_conclude(ssl_ids[i].s, 0)) {",
      "                fprintf(stderr, \"couldn\x27t conclude the stream\\n\");",
      "                return 0;",
      "            }",
      "            *written = len;",
      "";
    my $n = ($s =~ s/^[ \t]*if \(!SSL_write_ex2\(ssl_ids\[i\]\.s, buff, len, flags, written\) \|\| \*written != len\) \{\n.*?\n[ \t]*return 0;\n[ \t]*\}\n/$loop/ms);
    print $s;
    exit($n == 1 ? 0 : 3);
  ' "$WORK/h3-server.c" || H3_SKIP="the write in quic_server_write() was not found (source changed?)"
  grep -q 'SSL_LISTENER_FLAG_NO_VALIDATE : 0' "$WORK/h3-server.c" || H3_SKIP="the SSL_new_listener call was not found (source changed?)"
fi
if [[ -z "$H3_SKIP" ]]; then
  if gcc "${CC_FLAGS[@]}" -o "$PREFIX/bin/ossl-nghttp3-demo-server" "$WORK/h3-server.c" "${LD_FLAGS[@]}" -lnghttp3 \
    >"$WORK/h3.log" 2>&1; then
    echo "    $PREFIX/bin/ossl-nghttp3-demo-server (nghttp3 $(dpkg-query -W -f '${Version}' libnghttp3-dev 2>/dev/null || echo '?'))"
  else
    mkdir -p "$PREFIX/share/crosswire"
    cp "$WORK/h3.log" "$PREFIX/share/crosswire/h3-build-failure.log"
    echo "    skipped: does not compile against this nghttp3 (log: $PREFIX/share/crosswire/h3-build-failure.log)"
  fi
else
  echo "    skipped: $H3_SKIP"
fi
phase_done

# ---------------------------------------------------------------------------------------------------------------
phase "checking the result"
ver="$("$PREFIX/bin/openssl" version)"
echo "    $ver"
[[ "$ver" == "OpenSSL $UPSTREAM "* ]] || fail "$PREFIX/bin/openssl reports '$ver', expected $UPSTREAM"
for b in openssl quic-hq-interop quic-hq-interop-server; do
  ldd "$PREFIX/bin/$b" | grep -q "$PREFIX/lib/libssl.so" || fail "$PREFIX/bin/$b does not load libssl from $PREFIX/lib"
done
printf 'openssl %s\nsource %s\nbuilt %s\n' "$UPSTREAM" "$DEBVER" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$PREFIX/$MARKER"
ln -sfn "$(basename "$PREFIX")" "$LINK"
phase_done
echo "openssl $UPSTREAM installed in $PREFIX (link: $LINK) in $SECONDS s"
