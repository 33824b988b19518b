#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""platform/power.h over D-Bus: a private dbus-daemon, python-dbusmock's logind template as
logind (with seats, users and sessions of every kind added through the mock), and the
power_probe program pointed at the bus with WARD_SYSTEM_BUS_ADDRESS. Checks which sessions
count as graphical, that lock/reboot/poweroff made exactly the logind calls expected (the
mock's call log), error mapping, calls from several threads at once, and WARD_ENOTSUP with a
reason when logind or the whole bus is missing.

The probe is always given a private bus address: it never reaches the machine's logind.

Usage: test_power.py POWER_PROBE"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

PROBE = sys.argv[1]
LOGIND = "org.freedesktop.login1"
MANAGER = "org.freedesktop.login1.Manager"
SESSION = "org.freedesktop.login1.Session"
MOCK = "org.freedesktop.DBus.Mock"
ACTIONS = ("LockSessions", "LockSession", "Reboot", "PowerOff", "Suspend", "Hibernate")

# id: (seat, uid, user, Type, Class); "" seat: a session without one (a remote desktop)
SESSIONS = {
    "c1": ("seat0", 1000, "alice", "wayland", "user"),
    "c2": ("seat0", 1000, "alice", "tty", "user"),
    "c3": ("", 1001, "bob", "x11", "user"),
    "c4": ("seat0", 120, "gdm", "x11", "greeter"),
    "c5": ("seat0", 1002, "carol", "unspecified", "user"),
}
GRAPHICAL = [{"id": "c1", "user": "alice", "uid": 1000, "seat": "seat0", "type": "wayland",
              "class": "user"},
             {"id": "c3", "user": "bob", "uid": 1001, "seat": "", "type": "x11",
              "class": "user"}]


def skip(why):
    print("SKIP:", why)
    sys.exit(0)


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)


def probe(addr, *args):
    env = dict(os.environ, WARD_SYSTEM_BUS_ADDRESS=addr)
    p = subprocess.run([PROBE, *args], capture_output=True, text=True, env=env, timeout=60)
    check(p.returncode == 0, "power_probe %s: exit %d\n%s%s" % (args, p.returncode, p.stdout,
                                                               p.stderr))
    return json.loads(p.stdout)


def by_id(sessions):
    return sorted(sessions, key=lambda s: s["id"])


def main():
    try:
        import dbus
        import dbusmock  # noqa: F401
    except ImportError:
        skip("python3-dbusmock not installed (scripts/install-deps)")
    daemon_exe = shutil.which("dbus-daemon")
    if not daemon_exe:
        skip("dbus-daemon not installed (scripts/install-deps)")
    with tempfile.TemporaryDirectory() as tmp:
        conf, sock = os.path.join(tmp, "bus.conf"), os.path.join(tmp, "bus")
        with open(conf, "w") as f:
            f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"'
                    ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
                    "<busconfig><type>system</type><listen>unix:path=%s</listen>"
                    "<auth>EXTERNAL</auth><policy context=\"default\"><allow user=\"*\"/>"
                    "<allow own=\"*\"/><allow send_type=\"method_call\"/>"
                    "<allow send_destination=\"*\"/><allow receive_sender=\"*\"/>"
                    "<allow eavesdrop=\"true\"/></policy></busconfig>\n" % sock)
        daemon = subprocess.Popen([daemon_exe, "--config-file=" + conf, "--nofork",
                                   "--print-address"], stdout=subprocess.PIPE, text=True)
        mock = None
        try:
            addr = daemon.stdout.readline().strip()
            check(addr, "dbus-daemon printed no address")
            env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=addr)
            mock = subprocess.Popen(["/usr/bin/python3", "-m", "dbusmock", "--system", "-t",
                                     "logind"], env=env, stdout=subprocess.DEVNULL)
            bus = dbus.bus.BusConnection(addr)
            for _ in range(200):
                if bus.name_has_owner(LOGIND):
                    break
                time.sleep(0.05)
            check(bus.name_has_owner(LOGIND), "dbusmock's logind did not appear on the bus")
            obj = bus.get_object(LOGIND, "/org/freedesktop/login1")
            mock_if = dbus.Interface(obj, MOCK)

            def set_prop(path, name, value):
                dbus.Interface(bus.get_object(LOGIND, path),
                               "org.freedesktop.DBus.Properties").Set(SESSION, name, value)

            for sid, (seat, uid, user, stype, cls) in SESSIONS.items():
                path = mock_if.AddSession(sid, seat or "seat0", dbus.UInt32(uid), user, True)
                # the template makes every session Type "test", Class "user", on a seat
                set_prop(path, "Type", stype)
                set_prop(path, "Class", cls)
                if not seat:
                    set_prop(path, "Seat", dbus.Struct(("", dbus.ObjectPath("/")),
                                                       signature="so"))

            def calls():
                return [(str(c[1]), [bool(a) if isinstance(a, dbus.Boolean) else a
                                     for a in c[2]])
                        for c in mock_if.GetCalls() if str(c[1]) in ACTIONS]

            def reboot_args():
                # the argument must be a D-Bus boolean false, not just something falsy
                return [[type(a).__name__, bool(a)] for c in mock_if.GetCalls()
                        if str(c[1]) in ("Reboot", "PowerOff") for a in c[2]]

            # sessions: only the graphical user ones, and nothing done to them
            mock_if.ClearCalls()
            res = probe(addr, "sessions")
            check(res["rc"] == 0 and res["why"] == "", res)
            check(by_id(res["sessions"]) == GRAPHICAL, "sessions: %s" % res["sessions"])
            check(calls() == [], "sessions made calls: %s" % calls())

            # lock: LockSessions once, and the sessions it reached
            mock_if.ClearCalls()
            res = probe(addr, "lock")
            check(res["rc"] == 0, res)
            check(by_id(res["sessions"]) == GRAPHICAL, "lock: %s" % res["sessions"])
            check(calls() == [("LockSessions", [])], "lock: calls %s" % calls())

            # reboot and power-off, non-interactive
            mock_if.ClearCalls()
            res = probe(addr, "reboot")
            check(res["rc"] == 0 and res["sessions"] == [], res)
            check(calls() == [("Reboot", [False])], "reboot: calls %s" % calls())
            check(reboot_args() == [["Boolean", False]], reboot_args())
            mock_if.ClearCalls()
            res = probe(addr, "poweroff")
            check(res["rc"] == 0, res)
            check(calls() == [("PowerOff", [False])], "poweroff: calls %s" % calls())
            check(reboot_args() == [["Boolean", False]], reboot_args())

            # an action that does not exist reaches nobody
            mock_if.ClearCalls()
            res = probe(addr, "bogus")
            check(res["err"] == "WARD_EINVAL" and "unknown power action" in res["why"], res)
            check(calls() == [], "bogus: calls %s" % calls())

            # one connection per call: threads at once all see the same answer
            res = probe(addr, "threads", "8")
            check(res["rc"] == 0 and res["same"], res)
            check(by_id(res["sessions"]) == GRAPHICAL, "threads: %s" % res["sessions"])

            # logind refusing (polkit): WARD_EACCES with its message; a failed lock
            # returns no sessions
            deny = ("raise dbus.exceptions.DBusException('Access denied by policy',"
                    " name='org.freedesktop.DBus.Error.AccessDenied')")
            mock_if.AddMethod(MANAGER, "Reboot", "b", "", deny)
            mock_if.AddMethod(MANAGER, "LockSessions", "", "", deny)
            res = probe(addr, "reboot")
            check(res["err"] == "WARD_EACCES" and "Access denied by policy" in res["why"], res)
            res = probe(addr, "lock")
            check(res["err"] == "WARD_EACCES" and res["sessions"] == [], res)
            # a garbled Type answer is a protocol error, not a silently shorter list
            set_prop("/org/freedesktop/login1/session/c1", "Type", dbus.UInt32(7))
            res = probe(addr, "sessions")
            check(res["err"] == "WARD_EPROTO" and res["sessions"] == [], res)

            # the bus without logind on it
            mock.terminate()
            mock.wait(10)
            mock = None
            for _ in range(200):
                if not bus.name_has_owner(LOGIND):
                    break
                time.sleep(0.05)
            for mode in ("sessions", "lock", "reboot", "poweroff"):
                res = probe(addr, mode)
                check(res["err"] == "WARD_ENOTSUP" and "logind" in res["why"], (mode, res))
        finally:
            if mock:
                mock.terminate()
                mock.wait(10)
            daemon.terminate()
            daemon.wait(10)

        # no bus at all
        nobus = "unix:path=" + os.path.join(tmp, "no-such-bus")
        for mode in ("sessions", "lock", "reboot", "poweroff"):
            res = probe(nobus, mode)
            check(res["err"] == "WARD_ENOTSUP" and "no system bus" in res["why"], (mode, res))
    print("ok")


if __name__ == "__main__":
    main()
