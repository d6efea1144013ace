#!/bin/sh
# Restarts hello-service from the release this script belongs to: stops the running process (by
# its PIDFILE), starts this release detached from the caller, so an SSH session can end while
# the service keeps running, and waits until it has written its pid file (it does once listening).
#
#   PORT=8080 DATABASE_URL=postgres://... PIDFILE=/srv/hello/hello.pid sh bin/restart.sh
set -eu
# Defaults for a deploy by relctl, which sets RELCTL_PATH to the service's folder on the host.
PIDFILE=${PIDFILE:-${RELCTL_PATH:?PIDFILE or RELCTL_PATH must be set}/hello.pid}
LOGFILE=${LOGFILE:-${RELCTL_PATH:-/tmp}/hello.log}
export PIDFILE LOGFILE
: "${PORT:?PORT must be set}"
cd "$(dirname "$0")/.."

old=""
if [ -f "$PIDFILE" ]; then
  old=$(cat "$PIDFILE")
  if kill "$old" 2>/dev/null; then
    # The service removes its pid file once it has shut down (a zombie would still answer kill -0).
    i=0
    while [ -f "$PIDFILE" ] && [ "$i" -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  fi
  rm -f "$PIDFILE"
fi

setsid nohup node server.mjs >>"$LOGFILE" 2>&1 </dev/null &

i=0
while [ "$i" -lt 200 ]; do
  if [ -s "$PIDFILE" ] && [ "$(cat "$PIDFILE")" != "$old" ]; then exit 0; fi
  sleep 0.05
  i=$((i + 1))
done
echo "hello-service did not start within 10s (see $LOGFILE)" >&2
exit 1
