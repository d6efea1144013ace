#!/bin/sh
# Stops hello-service (by its PIDFILE) and waits for it to exit.
set -eu
# Defaults for a deploy by relctl, which sets RELCTL_PATH to the service's folder on the host.
PIDFILE=${PIDFILE:-${RELCTL_PATH:?PIDFILE or RELCTL_PATH must be set}/hello.pid}
[ -f "$PIDFILE" ] || exit 0
pid=$(cat "$PIDFILE")
if kill "$pid" 2>/dev/null; then
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
fi
rm -f "$PIDFILE"
