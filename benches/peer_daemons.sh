#!/usr/bin/env bash
# Peer figure: idle RSS of oFono's `ofonod` and `ModemManager` (Debian packages) on this
# machine, next to otapushd's (benches/cai.rs). Neither has a modem here, like otapushd with the
# simulated one idles with no traffic.
#
# Both want the system bus; a private dbus-daemon with a permissive policy stands in for it
# (DBUS_SYSTEM_BUS_ADDRESS), so the machine's own bus, if any, is not touched.
# Needs: apt-get install ofono modemmanager dbus-daemon. Run as root (both expect it).
# Usage: benches/peer_daemons.sh [SETTLE_SECONDS]   (default 10)
set -euo pipefail
settle=${1:-10}
dir=$(mktemp -d)
cleanup() {
  for p in ${pids:-}; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
cat >"$dir/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$dir/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
dbus-daemon --config-file="$dir/bus.conf" --nofork --print-address=1 >"$dir/addr" 2>/dev/null &
pids="$!"
for _ in $(seq 50); do [[ -s $dir/addr ]] && break; sleep 0.1; done
export DBUS_SYSTEM_BUS_ADDRESS
DBUS_SYSTEM_BUS_ADDRESS=$(head -1 "$dir/addr")

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo ?; }
run() {
  local name=$1
  shift
  local bin
  bin=$(command -v "$1" || true)
  if [[ -z $bin ]]; then
    echo "peer: $name not installed"
    return
  fi
  "$@" >"$dir/$name.log" 2>&1 &
  local pid=$!
  pids="$pids $pid"
  sleep "$settle"
  if kill -0 "$pid" 2>/dev/null; then
    local kb
    kb=$(rss "$pid")
    echo "peer: $name idle RSS $(awk -v k="$kb" 'BEGIN {printf "%.2f MiB (%d kB)", k/1024, k}') after ${settle} s ($($1 --version 2>/dev/null | head -1 || true))"
    kill "$pid" 2>/dev/null || true
  else
    echo "peer: $name exited during start-up; its log:"
    sed 's/^/  /' "$dir/$name.log" | tail -5
  fi
}
run ofonod ofonod -n
run ModemManager ModemManager
