#!/bin/sh
# Reads an application's events from otapushd's EventSource endpoint (docs/eventsource.md).
# Usage: examples/eventsource-curl.sh [APPLICATION_ID] [SOCKET] [LAST_EVENT_ID]
set -eu
app=${1:-x-oma-application:sse.ticker}
socket=${2:-/run/otapush/events.sock}
last=${3:-}
# -N: print each event as it arrives. The host name is not used over a Unix socket.
if [ -n "$last" ]; then
  exec curl -N -s --unix-socket "$socket" -H "Last-Event-ID: $last" "http://localhost/v1/events/$app"
fi
exec curl -N -s --unix-socket "$socket" "http://localhost/v1/events/$app"
