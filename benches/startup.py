#!/usr/bin/python3
"""Start-up time (issue 13 item 7): otapushd to its bus name `org.otapush.Push1` and to
`ModemState` `ready` (the simulated modem initialised by the real AT engine; one state dir for
all runs, so from the second run on the store exists and is checked, as at a boot), beside oFono's `ofonod` to `org.ofono` and ModemManager to
`org.freedesktop.ModemManager1`, measured in the same run on one private dbus-daemon.

Each run spawns the daemon and polls the bus every 0.5 ms: the peers with NameHasOwner, otapushd
with one `Get(ModemState)` per poll (no answer while the name has no owner), so the name and
`ready` are each timed at the first poll that sees them, as the peers' names are; the time is
from just before the spawn to that answer. Runs alternate between the
daemons; it prints the median, the min-max spread and every sample.

Run (as root: ofonod and ModemManager expect it):
    cargo build --release --bin otapushd && benches/startup.py [RUNS]   (default 15)
Environment: OTAPUSHD (default target/release/otapushd); otapushd gets the unit's `Environment=`
settings (systemd/otapushd.service) unless UNIT_ENVIRONMENT=off.
Needs dbus-daemon, python3-dbus, ofono, modemmanager: scripts/install-deps.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_build  # noqa: E402

try:
    import dbus
except ImportError as e:
    sys.exit(f"startup: {e}; run scripts/install-deps (python3-dbus)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={dir}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
"""
POLL = 0.0005
TIMEOUT = 30


def wait_for(cond, proc, what):
    deadline = time.monotonic() + TIMEOUT
    while not cond():
        if proc.poll() is not None:
            raise RuntimeError(f"{what}: exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {TIMEOUT} s")
        time.sleep(POLL)
    return time.monotonic()


def stop(p):
    p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def summary(name, xs):
    ms = sorted(x * 1e3 for x in xs)
    return (f"{name:<44} median {statistics.median(ms):7.1f} ms  spread {ms[0]:.1f}-{ms[-1]:.1f} ms"
            f"  (n={len(ms)}: {' '.join(f'{m:.1f}' for m in ms)})")


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    daemon_bin = os.environ.get("OTAPUSHD", os.path.join(ROOT, "target/release/otapushd"))
    for tool in ("dbus-daemon", "ofonod", "ModemManager"):
        if not shutil.which(tool):
            sys.exit(f"startup: {tool} missing: run scripts/install-deps")
    if not os.path.exists(daemon_bin):
        sys.exit(f"startup: no {daemon_bin}: cargo build --release --bin otapushd")
    daemon_build.check(daemon_bin, "startup")
    unit_env = daemon_build.unit_environment()
    print(f"startup: daemon environment from systemd/otapushd.service: {unit_env or 'none (UNIT_ENVIRONMENT=off)'}")
    tmp = tempfile.mkdtemp(prefix="otapush-startup-", dir="/var/tmp")
    bus_p = None
    try:
        with open(f"{tmp}/bus.conf", "w") as f:
            f.write(BUS_CONF.format(dir=tmp))
        bus_p = subprocess.Popen(["dbus-daemon", f"--config-file={tmp}/bus.conf", "--nofork",
                                  "--print-address=1"], stdout=subprocess.PIPE, text=True)
        address = bus_p.stdout.readline().strip()
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address, RUST_LOG="info")
        conn = dbus.bus.BusConnection(address)
        bus = dbus.Interface(conn.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus"),
                             "org.freedesktop.DBus")

        def owned(name):
            return lambda: bool(bus.NameHasOwner(name))

        def modem_state():
            # None while nobody owns the name (the bus answers ServiceUnknown at once).
            try:
                o = conn.get_object("org.otapush.Push1", "/org/otapush/Push1", introspect=False)
                return str(dbus.Interface(o, "org.freedesktop.DBus.Properties").Get(
                    "org.otapush.Push1.Manager", "ModemState"))
            except dbus.DBusException:
                return None

        def otapushd_times(p, t0):
            # One loop observes both events, each at the first poll that sees it: the name
            # when the property first answers, `ready` when it first says so.
            named = None
            deadline = time.monotonic() + TIMEOUT
            while True:
                state = modem_state()
                now = time.monotonic()
                if state is not None and named is None:
                    named = now
                if state == "ready":
                    return named - t0, now - t0
                if p.poll() is not None:
                    raise RuntimeError(f"otapushd: exited with {p.returncode}")
                if now > deadline:
                    raise RuntimeError(f"otapushd: not ready within {TIMEOUT} s")
                time.sleep(POLL)

        res = {k: [] for k in ("name", "ready", "ofono", "mm")}
        log = open(f"{tmp}/daemons.log", "w")
        for i in range(runs):
            state = f"{tmp}/state"
            t0 = time.monotonic()
            p = subprocess.Popen([daemon_bin, "--device", "sim", "--bus", address, "--state-dir", state],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=dict(env, **unit_env))
            try:
                named, ready = otapushd_times(p, t0)
                res["name"].append(named)
                res["ready"].append(ready)
            finally:
                stop(p)
            for key, argv, name in (("ofono", ["ofonod", "-n"], "org.ofono"),
                                    ("mm", ["ModemManager"], "org.freedesktop.ModemManager1")):
                t0 = time.monotonic()
                p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
                try:
                    res[key].append(wait_for(owned(name), p, argv[0]) - t0)
                finally:
                    stop(p)
        print(summary("otapushd -> org.otapush.Push1 owned", res["name"]))
        print(summary("otapushd -> ModemState ready (sim modem)", res["ready"]))
        print(summary("ofonod -n -> org.ofono owned", res["ofono"]))
        print(summary("ModemManager -> org.freedesktop.ModemManager1", res["mm"]))
        ratio = statistics.median(res["ready"]) / statistics.median(res["ofono"])
        print(f"startup: otapushd ready / ofonod named, medians: {ratio:.2f} (budget <= 1)")
    finally:
        if bus_p:
            stop(bus_p)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
