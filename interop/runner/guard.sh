#!/usr/bin/env bash
# guard.sh PARENT_PID COMMAND [ARGS...]: runs COMMAND and ends its whole process group when crosswire (PARENT_PID) is
# gone — even if crosswire was killed with SIGKILL and could not clean up. The runner starts this script as the leader
# of a new process group; SIGTERM/SIGINT are passed on to COMMAND; the exit status is COMMAND's.
parent=$1; shift
# <&0: a background command's stdin would otherwise be /dev/null (no job control); stream-io forms read theirs.
"$@" <&0 &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$parent" 2>/dev/null; then kill -KILL 0; fi
  sleep 0.5 &
  wait -n "$child" $! 2>/dev/null
done
wait "$child"
