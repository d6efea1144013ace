#!/bin/sh
# Stops hello-service (by its PIDFILE) and waits for it to exit.
set -eu
# Defaults for a deploy by relctl, which sets RELCTL_PATH to the service's folder on the host.
PIDFILE=${PIDFILE:-${RELCTL_PATH:?PIDFILE or RELCTL_PATH must be set}/hello.pid}
[ -f "$PIDFILE" ] || exit 0
pid=$(cat "$PIDFILE")
if kill "$pid" 2>/dev/null; then
  i=0
  # The service removes its pid file once it has shut down.
  while [ -f "$PIDFILE" ] && [ "$i" -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
fi
rm -f "$PIDFILE"
