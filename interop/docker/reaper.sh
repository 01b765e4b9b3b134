#!/usr/bin/env bash
# reaper.sh PARENT_PID RUN_ID: started detached by crosswire's docker runtime (interop/runner/docker-runtime.ts) when a
# run starts its first container. When crosswire (PARENT_PID) is gone — even killed with SIGKILL, when it could not
# clean up — removes every container labelled crosswire.run=RUN_ID, then exits.
parent=$1 run=$2
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
ids=$(docker ps -aq --filter "label=crosswire.run=$run" 2>/dev/null)
[ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
exit 0
