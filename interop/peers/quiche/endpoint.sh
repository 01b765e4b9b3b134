#!/usr/bin/env bash
# quic-interop-runner style endpoint for quiche: the environment (ROLE, TESTCASE, REQUESTS, …) is the interface;
# the program is this folder's main.ts, compiled into the repo's dist/ (npm run build).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
main="$here/../../../dist/interop/peers/quiche/main.js"
if [ ! -f "$main" ]; then
  echo "quiche endpoint: $main is missing (run npm run build)" >&2
  exit 1
fi
exec node "$main" "$@"
