#!/bin/bash
# ldd for install.sh's `ldd BIN | grep -q LIB` check (see interop/docker/openssl/Dockerfile): the output is written in
# one piece and SIGPIPE is ignored, so a reader that stops early cannot turn a found library into a failure.
trap '' PIPE
out=$(/usr/bin/ldd "$@"); rc=$?
printf '%s\n' "$out" 2>/dev/null
exit $rc
