#!/usr/bin/python3
"""Idle RSS and burst RSS of the shipped release otapushd (issue 13 items 3 and 4).

Starts a private dbus-daemon and `otapushd --device sim` (the simulated modem), waits until
`ModemState` is `ready`, lets it settle, then prints /proc/PID/smaps_rollup and the resident
size of each mapping (the binary, libc, ld.so, the heap, other anonymous memory). Then one
agent (python3-dbus, in this process) registers, 100 pushes warm up, VmHWM is reset
(`clear_refs` 5) and 1,000 pushes are injected with 64 `InjectPdu` calls in flight while VmRSS
and RssAnon are sampled every 5 ms; it prints the peak (VmHWM and the samples), the RSS once
all 1,000 are delivered and 3 s later (otapushd gives memory back 2 s after its deliveries
drained, src/memory.rs).

Run (as root: InjectPdu is privileged, clear_refs needs it):
    cargo build --release --bin otapushd && benches/rss.py   (Debian's python3: python3-dbus)
Environment: OTAPUSHD (default target/release/otapushd), SETTLE (seconds, default 3),
RUST_LOG for the daemon (default info, as shipped), BURST_VIA: `inject` (default: `InjectPdu`,
64 calls in flight) or `modem` (the simulated network's `Deliver`: each SMS goes through the
simulated modem, `+CMTI`, `AT+CMGR` and `AT+CMGD`, as in the field; the driver keeps at most
16 undelivered in the network, the modem's storage holds 20: an SMSC keeps the rest, outside
the device, and here the simulator runs inside otapushd). The daemon gets the unit's
`Environment=` settings (systemd/otapushd.service) unless UNIT_ENVIRONMENT=off.
Needs dbus-daemon, python3-dbus, python3-gi: scripts/install-deps.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_build  # noqa: E402

try:
    import dbus
    import dbus.mainloop.glib
    import dbus.service
    from gi.repository import GLib
except ImportError as e:
    sys.exit(f"rss: {e}; run scripts/install-deps (python3-dbus, python3-gi)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={dir}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
"""
WINDOW = 64
MODEM_WINDOW = 16


def bcd(digits):
    """TS 23.040 §9.1.2.3 semi-octets, F-padded."""
    if len(digits) % 2:
        digits += "F"
    return bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))


def push_pdu(run, i):
    """One single-segment WAP Push SMS-DELIVER (TS 23.040 §9.2.2.1, 8-bit, UDH ports 2948/9200;
    WAP-230 WSP Push): MMS content type, X-Wap-Application-Id mms.ua, a distinct body."""
    body = f"{run} push {i:06} {'x' * 40}".encode()
    wsp = bytes([i % 256, 0x06, 3, 0xBE, 0xAF, 0x84]) + body
    ud = bytes([6, 5, 4, 0x0B, 0x84, 0x23, 0xF0]) + wsp
    oa = "447700900123"
    scts = bcd("25010203040504")[:6] + bytes([0x40])
    return (bytes([0x00, 0x44, len(oa), 0x91]) + bcd(oa) + bytes([0x00, 0x04]) + scts
            + bytes([len(ud)]) + ud)


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def mib(kb):
    return f"{kb / 1024:.2f} MiB ({kb} kB)"


def smaps(pid):
    """Rss per mapping, grouped: (name, rss kB, of it anonymous kB)."""
    groups = {}
    name = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and "-" in parts[0] and ":" not in parts[0]:
                path = parts[5] if len(parts) > 5 else "[anon]"
                name = os.path.basename(path) if path.startswith("/") else path
            elif parts[0] == "Rss:":
                groups.setdefault(name, [0, 0])[0] += int(parts[1])
            elif parts[0] == "Anonymous:":
                groups.setdefault(name, [0, 0])[1] += int(parts[1])
    return sorted(((n, r, a) for n, (r, a) in groups.items()), key=lambda g: -g[1])


def print_breakdown(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        rollup = {l.split()[0].rstrip(":"): l.split()[1] for l in f if l.split()[0].endswith(":")}
    keys = ["Rss", "Pss", "Shared_Clean", "Private_Clean", "Private_Dirty", "Anonymous"]
    print("rss: smaps_rollup " + ", ".join(f"{k} {rollup.get(k, '?')} kB" for k in keys))
    for n, r, a in smaps(pid):
        if r:
            print(f"rss:   {n:<28} Rss {r:>5} kB  (anonymous {a} kB)")


class Agent(dbus.service.Object):
    def __init__(self, conn, path):
        super().__init__(conn, path)
        self.delivered = set()

    @dbus.service.method("org.otapush.Push1.Agent", in_signature="sa{sv}ay", out_signature="")
    def Deliver(self, msg_id, meta, body):
        self.delivered.add(bytes(body))

    @dbus.service.method("org.otapush.Push1.Agent", in_signature="", out_signature="")
    def Release(self):
        pass


def main():
    daemon_bin = os.environ.get("OTAPUSHD", os.path.join(ROOT, "target/release/otapushd"))
    if not os.path.exists(daemon_bin):
        sys.exit(f"rss: no {daemon_bin}: cargo build --release --bin otapushd")
    daemon_build.check(daemon_bin, "rss")
    unit_env = daemon_build.unit_environment()
    print(f"rss: daemon environment from systemd/otapushd.service: {unit_env or 'none (UNIT_ENVIRONMENT=off)'}")
    if not shutil.which("dbus-daemon"):
        sys.exit("rss: dbus-daemon missing: run scripts/install-deps")
    settle = float(os.environ.get("SETTLE", "3"))
    tmp = tempfile.mkdtemp(prefix="otapush-rss-", dir="/var/tmp")
    procs = []
    try:
        with open(f"{tmp}/bus.conf", "w") as f:
            f.write(BUS_CONF.format(dir=tmp))
        bus_p = subprocess.Popen(["dbus-daemon", f"--config-file={tmp}/bus.conf", "--nofork",
                                  "--print-address=1"], stdout=subprocess.PIPE, text=True)
        procs.append(bus_p)
        address = bus_p.stdout.readline().strip()
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"))
        d = subprocess.Popen([daemon_bin, "--device", "sim", "--bus", address, "--state-dir",
                              f"{tmp}/state"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=open(f"{tmp}/otapushd.log", "w"), env=dict(env, **unit_env))
        procs.append(d)
        print(f"rss: daemon {daemon_bin} ({os.path.getsize(daemon_bin)} octets), pid {d.pid}")

        dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
        conn = dbus.bus.BusConnection(address)
        deadline = time.monotonic() + 30
        while True:
            try:
                mgr_obj = conn.get_object("org.otapush.Push1", "/org/otapush/Push1")
                props = dbus.Interface(mgr_obj, "org.freedesktop.DBus.Properties")
                if props.Get("org.otapush.Push1.Manager", "ModemState") == "ready":
                    break
            except dbus.DBusException:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"rss: daemon not ready; log {tmp}/otapushd.log")
            time.sleep(0.02)
        time.sleep(settle)
        threads = len(os.listdir(f"/proc/{d.pid}/task"))
        idle = status_kb(d.pid, "VmRSS")
        idle_anon = status_kb(d.pid, "RssAnon")
        print(f"rss: idle RSS {mib(idle)} after {settle:g} s, VmHWM so far "
              f"{mib(status_kb(d.pid, 'VmHWM'))}, {threads} thread(s)")
        print_breakdown(d.pid)

        manager = dbus.Interface(mgr_obj, "org.otapush.Push1.Manager")
        via = os.environ.get("BURST_VIA", "inject")
        if via not in ("inject", "modem"):
            sys.exit(f"rss: BURST_VIA is inject or modem, not {via!r}")
        network = via == "modem" and dbus.Interface(
            conn.get_object("org.otapush.Push1", "/org/otapush/Push1/Simulator", introspect=False),
            "org.otapush.Push1.Simulator")
        agent_conn = dbus.bus.BusConnection(address)
        agent = Agent(agent_conn, "/bench/agent")
        dbus.Interface(agent_conn.get_object("org.otapush.Push1", "/org/otapush/Push1"),
                       "org.otapush.Push1.Manager").Register(
            dbus.Dictionary({}, signature="sv"), dbus.ObjectPath("/bench/agent"))
        loop = GLib.MainLoop()

        def burst(run, n):
            pdus = [push_pdu(run, i) for i in range(n)]
            agent.delivered.clear()
            state = {"next": 0, "inflight": 0, "failed": 0}

            def pump():
                if via == "modem":
                    while state["next"] - len(agent.delivered) < MODEM_WINDOW and state["next"] < n:
                        network.Deliver(dbus.ByteArray(pdus[state["next"]]))
                        state["next"] += 1
                    return
                while state["inflight"] < WINDOW and state["next"] < n:
                    p = pdus[state["next"]]
                    state["next"] += 1
                    state["inflight"] += 1
                    manager.InjectPdu(dbus.ByteArray(p), reply_handler=done, error_handler=failed)

            def done(*_):
                state["inflight"] -= 1
                pump()

            def failed(e):
                state["failed"] += 1
                print(f"rss: InjectPdu failed: {e}", file=sys.stderr)
                done()

            def check():
                if len(agent.delivered) >= n or state["failed"]:
                    loop.quit()
                    return False
                pump()
                return True

            pump()
            GLib.timeout_add(2, check)
            t0 = time.monotonic()
            loop.run()
            return time.monotonic() - t0, state["failed"]

        burst("warm", 100)
        time.sleep(1)
        before = status_kb(d.pid, "VmRSS")
        try:
            with open(f"/proc/{d.pid}/clear_refs", "w") as f:
                f.write("5")
            reset = True
        except OSError:
            reset = False
        samples = []
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                samples.append((status_kb(d.pid, "VmRSS"), status_kb(d.pid, "RssAnon")))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        secs, failed = burst("burst", 1000)
        stop.set()
        sampler.join()
        after = status_kb(d.pid, "VmRSS")
        hwm = status_kb(d.pid, "VmHWM")
        time.sleep(3)
        later = status_kb(d.pid, "VmRSS")
        later_anon = status_kb(d.pid, "RssAnon")
        peak_anon = max([a for _, a in samples] or [0])
        print(f"rss: burst of 1000 pushes ({via}) to 1 agent in {secs:.2f} s ({1000 / secs:.0f}/s, "
              f"{failed} failed); RSS before {mib(before)}")
        print(f"rss: burst peak VmHWM {mib(hwm)}{'' if reset else ' (since start: clear_refs refused)'}, "
              f"sampled max {mib(max([r for r, _ in samples] or [0]))} ({len(samples)} samples); "
              f"peak - idle {hwm - idle} kB (budget 512)")
        print(f"rss: anonymous (RssAnon): idle {idle_anon} kB, burst peak {peak_anon} kB "
              f"(+{peak_anon - idle_anon} kB), 3 s after {later_anon} kB (+{later_anon - idle_anon} kB)")
        print(f"rss: RSS when delivered {mib(after)}, 3 s later {mib(later)} "
              f"(later - idle {later - idle} kB)")
        print_breakdown(d.pid)
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
