#!/usr/bin/env bash
# Docker in CI (issue 13): installs Docker (Debian's docker.io, docker-compose, debootstrap), starts dockerd when no
# engine answers (and stops exactly that process at the end), makes the base images when missing
# (interop/docker/base-images.sh: no image registry needed), builds the peer images (`crosswire peers build`: Docker's
# layer cache makes an unchanged image a matter of seconds, so images are cached between runs on one machine and
# still follow the checkout), validates docker-compose.yml, runs the containerised subset, runs the same cells
# natively and compares the verdicts. Prints how long each phase took.
#
#   interop/docker/ci.sh [-- COMMAND...]    COMMAND (e.g. npx playwright test test/docker.spec.ts) runs while the
#                                           engine is still up, before dockerd is stopped; its status counts.
# Subset: handshake + transfer for self↔ngtcp2 and quiche↔openssl (both directions; peers that
# `crosswire peers list` does not know are left out, saying so), and http3 with self → qir:crosswire/ngtcp2.
# Results: ${CROSSWIRE_DOCKER_CI_OUT:-results/docker-ci}/{docker,native}/<client>-<server>/.
# Exit: 0 when every containerised cell passed and matches its native verdict; 1 otherwise; 2 when Docker is missing.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${CROSSWIRE_DOCKER_CI_OUT:-results/docker-ci}
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
AFTER=()
if [[ ${1:-} == -- ]]; then shift; AFTER=("$@"); fi

T0=$(date +%s)
phase_start=$T0
phase() { local now; now=$(date +%s); echo "::: docker-ci: $1 took $((now - phase_start)) s"; phase_start=$now; }
die() { echo "docker-ci: $*" >&2; exit "${2:-1}"; }

DOCKERD_PID=
stop_engine() {
  if [[ -n $DOCKERD_PID ]]; then
    local t; t=$(date +%s)
    kill -TERM "$DOCKERD_PID" 2>/dev/null
    for _ in $(seq 1 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$DOCKERD_PID" 2>/dev/null && kill -KILL "$DOCKERD_PID" 2>/dev/null
    wait "$DOCKERD_PID" 2>/dev/null
    echo "::: docker-ci: dockerd (pid $DOCKERD_PID) stopped in $(( $(date +%s) - t )) s"
    DOCKERD_PID=
  fi
}
trap stop_engine EXIT

# 1. Docker itself --------------------------------------------------------------------------------------------------
missing=()
command -v docker >/dev/null || missing+=(docker.io)
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "docker-ci: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "Docker is missing and apt-get install ${missing[*]} failed" 2
fi
phase "install docker.io docker-compose debootstrap"

if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  echo "docker-ci: using the running Docker engine $(docker version --format '{{.Server.Version}}')"
else
  LOG=${TMPDIR:-/tmp}/crosswire-dockerd.log
  $SUDO dockerd >"$LOG" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 120); do docker version >/dev/null 2>&1 && break; kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || { tail -n 20 "$LOG" >&2; DOCKERD_PID=; die "no Docker engine: dockerd did not start (log: $LOG)" 2; }
  echo "docker-ci: started dockerd $(docker version --format '{{.Server.Version}}') (pid $DOCKERD_PID, log: $LOG)"
fi
phase "start the Docker engine"

# 2. Images --------------------------------------------------------------------------------------------------------
interop/docker/base-images.sh || die "base images failed"
phase "base images"

[[ -f dist/interop/cli.js ]] || npm run build >/dev/null || die "npm run build failed"
mapfile -t KNOWN < <(node bin/crosswire.js peers list --json | node -e 'for (const p of JSON.parse(require("fs").readFileSync(0, "utf8"))) console.log(p.name)')
known() { local p; for p in "${KNOWN[@]}"; do [[ $p == "$1" ]] && return 0; done; return 1; }
BUILD=()
for p in self ngtcp2 openssl quiche; do
  if known "$p"; then BUILD+=("$p"); else echo "docker-ci: peer $p is not declared (crosswire peers list): no image, its cells are left out"; fi
done
node bin/crosswire.js peers build "${BUILD[@]}" 2>&1 | grep -v -e '^DEPRECATED' -e 'Install the buildx' -e 'docs.docker.com/go/buildx' -e '^ *$'
[[ ${PIPESTATUS[0]} -eq 0 ]] || die "image build failed (build logs under ${CROSSWIRE_CACHE:-$HOME/.cache/crosswire}/docker/)"
echo "image sizes:"
for p in "${BUILD[@]}"; do
  img=crosswire/$([[ $p == self ]] && echo crosswire || echo "$p")
  docker image inspect -f "  $img {{.Size}}" "$img" | awk '{printf "  %-22s %5.0f MB\n", $1, $2/1e6}'
done
phase "peer images"

# 3. docker-compose.yml --------------------------------------------------------------------------------------------
for profile in "" host images; do
  docker-compose ${profile:+--profile "$profile"} config -q || die "docker-compose.yml is invalid (profile '${profile:-default}')"
done
echo "docker-ci: docker-compose.yml valid (default, host and images profiles)"
phase "validate docker-compose.yml"

# 4. The containerised subset, then the same cells natively ---------------------------------------------------------
rm -rf "$OUT"
CELLS=()   # client|server|scenario files
add_pair() { known "$1" && known "$2" && [[ " ${BUILD[*]} " == *" $1 "* && " ${BUILD[*]} " == *" $2 "* ]] && CELLS+=("$1|$2|scenarios/quic/handshake.yaml scenarios/quic/transfer.yaml"); }
add_pair self ngtcp2; add_pair ngtcp2 self; add_pair quiche openssl; add_pair openssl quiche
[[ " ${BUILD[*]} " == *" ngtcp2 "* ]] && CELLS+=("self|qir:crosswire/ngtcp2|scenarios/quic/http3.yaml")
[[ ${#CELLS[@]} -gt 0 ]] || die "no cell to run"

run_cells() { # $1 = docker|native
  local mode=$1 cell client server files dir status=0
  for cell in "${CELLS[@]}"; do
    IFS='|' read -r client server files <<<"$cell"
    # The folder is named before qir:crosswire/X becomes X natively: self-ngtcp2 already holds the handshake cells.
    dir="$OUT/$mode/${client//[:\/]/-}-${server//[:\/]/-}"
    if [[ $mode == native ]]; then server=${server#qir:crosswire/}; fi
    local args=(run $files --client "$client" --server "$server" --out "$dir")
    [[ $mode == docker ]] && args+=(--runtime docker)
    echo "docker-ci: crosswire ${args[*]}"
    node bin/crosswire.js "${args[@]}" 2>&1 | grep -v -e '^\[[0-9]*/[0-9]*\]' -e '^results in ' -e '^ *$'
    [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
  done
  return $status
}
run_cells docker; DOCKER_STATUS=$?
phase "containerised subset"
run_cells native; NATIVE_STATUS=$?
phase "the same subset natively"

# 5. Verdicts: containerised vs native -------------------------------------------------------------------------------
node --input-type=module - "$OUT" <<'EOF' | tee "$OUT/compare.txt"
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
const out = process.argv[2];
const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name === 'result.json' ? [join(d, e.name)] : []));
const load = (mode) => {
  const m = new Map();
  if (!existsSync(join(out, mode))) return m;
  for (const f of walk(join(out, mode))) {
    const r = JSON.parse(readFileSync(f, 'utf8'));
    m.set(`${r.scenario} ${r.client.name.replace('qir:crosswire/', '')}→${r.server.name.replace('qir:crosswire/', '')}`, r);
  }
  return m;
};
const docker = load('docker');
const native = load('native');
let bad = 0;
let dWall = 0;
let nWall = 0;
console.log(`${'cell'.padEnd(34)} ${'docker'.padEnd(12)} ${'native'.padEnd(12)} docker s  native s`);
for (const [k, d] of docker) {
  const n = native.get(k);
  const ok = !!n && n.verdict === d.verdict && d.verdict === 'passed';
  if (!ok) bad++;
  dWall += d.wallMs;
  nWall += n?.wallMs ?? 0;
  console.log(`${(k + (d.server.name.startsWith('qir:') ? ' (qir:)' : '')).padEnd(34)} ${d.verdict.padEnd(12)} ${(n?.verdict ?? 'missing').padEnd(12)} ${(d.wallMs / 1000).toFixed(1).padStart(8)}  ${((n?.wallMs ?? 0) / 1000).toFixed(1).padStart(8)}${ok ? '' : '   MISMATCH or not passed' + (d.reason ? `: ${d.reason.slice(0, 160)}` : '')}`);
}
console.log(`cells: ${docker.size}; sum of cell wall times: containerised ${(dWall / 1000).toFixed(1)} s, native ${(nWall / 1000).toFixed(1)} s`);
process.exit(bad ? 1 : 0);
EOF
COMPARE_STATUS=${PIPESTATUS[0]}
phase "compare verdicts"

AFTER_STATUS=0
if [[ ${#AFTER[@]} -gt 0 ]]; then
  echo "docker-ci: ${AFTER[*]}"
  "${AFTER[@]}"; AFTER_STATUS=$?
  phase "${AFTER[*]}"
fi

stop_engine
echo "::: docker-ci: total $(( $(date +%s) - T0 )) s"
if [[ $DOCKER_STATUS -ne 0 || $COMPARE_STATUS -ne 0 || $AFTER_STATUS -ne 0 ]]; then
  # Repeated here: the test command's output would otherwise bury the table that says which cell failed.
  cat "$OUT/compare.txt" >&2
  echo "docker-ci: FAILED (containerised runs: $DOCKER_STATUS, verdict comparison: $COMPARE_STATUS, command: $AFTER_STATUS; native runs: $NATIVE_STATUS)" >&2
  exit 1
fi
echo "docker-ci: every containerised cell passed and matches its native verdict"
