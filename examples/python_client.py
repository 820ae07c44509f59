#!/usr/bin/python3
"""A Push-CAI client in Python with only what Debian ships (python3-dbus, python3-gi).

It serves an agent (org.otapush.Push1.Agent), registers it with a filter, prints each
message and acknowledges it by returning normally. When otapushd restarts it registers again.

    python3 examples/python_client.py [--system | --session | --address ADDR]
                                      [--app-id URN] [--count N]
"""

import argparse
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

BUS_NAME = "org.otapush.Push1"
MANAGER_PATH = "/org/otapush/Push1"
MANAGER_IFACE = "org.otapush.Push1.Manager"
AGENT_IFACE = "org.otapush.Push1.Agent"
AGENT_PATH = "/org/example/PushAgentPy"


class Agent(dbus.service.Object):
    def __init__(self, bus, count, on_done):
        super().__init__(bus, AGENT_PATH)
        self.count = count
        self.received = 0
        self.on_done = on_done

    # Returning normally acknowledges the message. Raising a DBusException named
    # org.otapush.Push1.Error.Rejected refuses it for good; any other error means "retry later".
    @dbus.service.method(AGENT_IFACE, in_signature="sa{sv}ay", out_signature="", byte_arrays=True)
    def Deliver(self, msg_id, meta, body):
        content_type = str(meta.get("ContentType", "-"))
        shown = repr(bytes(body).decode("utf-8", "replace")) if content_type.startswith("text/") else f"{len(body)} octets"
        print(f"deliver {msg_id}: {meta.get('Kind', '-')} {meta.get('ApplicationId', '-')} "
              f"{content_type} from {meta.get('Originator', '-')}: {shown}", flush=True)
        self.received += 1
        if self.count is not None and self.received >= self.count:
            GLib.idle_add(self.on_done)

    @dbus.service.method(AGENT_IFACE, in_signature="", out_signature="")
    def Release(self):
        print("released by otapushd", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--system", action="store_true")
    where.add_argument("--session", action="store_true")
    where.add_argument("--address")
    parser.add_argument("--app-id", help="ApplicationId filter (URN or OMNA code)")
    parser.add_argument("--count", type=int, help="exit after this many messages")
    args = parser.parse_args()

    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    if args.address:
        bus = dbus.bus.BusConnection(args.address)
    elif args.system:
        bus = dbus.SystemBus()
    else:
        bus = dbus.SessionBus()

    loop = GLib.MainLoop()
    state = {"registration": None, "owner": None}

    def manager():
        return dbus.Interface(bus.get_object(BUS_NAME, MANAGER_PATH), MANAGER_IFACE)

    def register():
        flt = dbus.Dictionary({}, signature="sv")
        if args.app_id:
            flt["ApplicationId"] = dbus.String(args.app_id)
        state["owner"] = bus.get_name_owner(BUS_NAME)
        state["registration"] = manager().Register(flt, dbus.ObjectPath(AGENT_PATH))
        print(f"registered {state['registration']}", flush=True)

    def done():
        # Unregistering is a blocking call: it also flushes the last acknowledgement.
        manager().Unregister(state["registration"])
        loop.quit()
        return False

    Agent(bus, args.count, done)

    def daemon_changed(owner):
        # Called once at once with the current owner, then on every change.
        if owner and owner != state["owner"]:
            print("otapushd (re)appeared; registering again", flush=True)
            register()

    register()
    bus.watch_name_owner(BUS_NAME, daemon_changed)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
