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
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import dbusmock_bus  # noqa: E402

PROBE = sys.argv[1]
MANAGER = "org.freedesktop.login1.Manager"
SESSION = "org.freedesktop.login1.Session"
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
    env = dbusmock_bus.client_env(addr)
    p = subprocess.run([PROBE, *args], capture_output=True, text=True, env=env, timeout=60)
    check(p.returncode == 0, "power_probe %s: exit %d\n%s%s" % (args, p.returncode, p.stdout,
                                                               p.stderr))
    return json.loads(p.stdout)


def by_id(sessions):
    return sorted(sessions, key=lambda s: s["id"])


def main():
    reason = dbusmock_bus.skip_reason()
    if reason:
        skip(reason)
    import dbus
    with tempfile.TemporaryDirectory() as tmp:
        with dbusmock_bus.MockBus("logind") as mb:
            addr = mb.address
            for sid, (seat, uid, user, stype, cls) in SESSIONS.items():
                mb.add_session(sid, seat, uid, user, stype, cls)

            def calls():
                return mb.calls(ACTIONS)

            def reboot_args():
                # the argument must be a D-Bus boolean false, not just something falsy
                return [[type(a).__name__, bool(a)]
                        for _, args in mb.get_calls(("Reboot", "PowerOff")) for a in args]

            # sessions: only the graphical user ones, and nothing done to them
            mb.clear_calls()
            res = probe(addr, "sessions")
            check(res["rc"] == 0 and res["why"] == "", res)
            check(by_id(res["sessions"]) == GRAPHICAL, "sessions: %s" % res["sessions"])
            check(calls() == [], "sessions made calls: %s" % calls())

            # lock: LockSessions once, and the sessions it reached
            mb.clear_calls()
            res = probe(addr, "lock")
            check(res["rc"] == 0, res)
            check(by_id(res["sessions"]) == GRAPHICAL, "lock: %s" % res["sessions"])
            check(calls() == [("LockSessions", [])], "lock: calls %s" % calls())

            # reboot and power-off, non-interactive
            mb.clear_calls()
            res = probe(addr, "reboot")
            check(res["rc"] == 0 and res["sessions"] == [], res)
            check(calls() == [("Reboot", [False])], "reboot: calls %s" % calls())
            check(reboot_args() == [["Boolean", False]], reboot_args())
            mb.clear_calls()
            res = probe(addr, "poweroff")
            check(res["rc"] == 0, res)
            check(calls() == [("PowerOff", [False])], "poweroff: calls %s" % calls())
            check(reboot_args() == [["Boolean", False]], reboot_args())

            # an action that does not exist reaches nobody
            mb.clear_calls()
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
            mb.mock.AddMethod(MANAGER, "Reboot", "b", "", deny)
            mb.mock.AddMethod(MANAGER, "LockSessions", "", "", deny)
            res = probe(addr, "reboot")
            check(res["err"] == "WARD_EACCES" and "Access denied by policy" in res["why"], res)
            res = probe(addr, "lock")
            check(res["err"] == "WARD_EACCES" and res["sessions"] == [], res)
            # a garbled Type answer is a protocol error, not a silently shorter list
            mb.set_property("/org/freedesktop/login1/session/c1", SESSION, "Type",
                            dbus.UInt32(7))
            res = probe(addr, "sessions")
            check(res["err"] == "WARD_EPROTO" and res["sessions"] == [], res)

            # the bus without logind on it
            mb.stop_mock()
            for mode in ("sessions", "lock", "reboot", "poweroff"):
                res = probe(addr, mode)
                check(res["err"] == "WARD_ENOTSUP" and "logind" in res["why"], (mode, res))

        # no bus at all
        nobus = "unix:path=" + os.path.join(tmp, "no-such-bus")
        for mode in ("sessions", "lock", "reboot", "poweroff"):
            res = probe(nobus, mode)
            check(res["err"] == "WARD_ENOTSUP" and "no system bus" in res["why"], (mode, res))
    print("ok")


if __name__ == "__main__":
    main()
