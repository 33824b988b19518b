#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The service kind (and the firewall kind's nftables path) over D-Bus, with `ward baseline`
as a process: a private dbus-daemon, python-dbusmock's systemd template as systemd (this
machine has no system bus), the unit-file methods the template lacks added as mock methods
that keep state, and ward pointed at the bus with WARD_SYSTEM_BUS_ADDRESS. Checks results,
the calls dbusmock recorded, the mock's state afterwards, idempotence (no second round of
changes) and restore on removal.

Usage: test_kind_service.py WARD_BINARY"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import dbusmock_bus  # noqa: E402

WARD = sys.argv[1]
MANAGER = "org.freedesktop.systemd1.Manager"
MOCK = dbusmock_bus.MOCK_IFACE
CHANGES = ("EnableUnitFiles", "DisableUnitFiles", "MaskUnitFiles", "UnmaskUnitFiles",
           "StartUnit", "StopUnit", "Reload")

UFS_CODE = {
    "GetUnitFileState": ("s", "s", "u = getattr(self, 'ufs', {})\n"
                         "if args[0] not in u:\n"
                         "    raise dbus.exceptions.DBusException('No such file or directory',"
                         " name='org.freedesktop.DBus.Error.FileNotFound')\n"
                         "ret = u[args[0]]"),
    "EnableUnitFiles": ("asbb", "ba(sss)", "for f in args[0]: self.ufs[str(f)] = 'enabled'\n"
                        "ret = (False, dbus.Array([], signature='(sss)'))"),
    "DisableUnitFiles": ("asb", "a(sss)", "for f in args[0]: self.ufs[str(f)] = 'disabled'\n"
                         "ret = dbus.Array([], signature='(sss)')"),
    "MaskUnitFiles": ("asbb", "a(sss)", "for f in args[0]: self.ufs[str(f)] = 'masked'\n"
                      "ret = dbus.Array([], signature='(sss)')"),
    "UnmaskUnitFiles": ("asb", "a(sss)", "for f in args[0]: self.ufs[str(f)] = 'disabled'\n"
                        "ret = dbus.Array([], signature='(sss)')"),
    "Reload": ("", "", ""),
    # the template's GetUnit raises a Python KeyError for a unit that is not loaded; systemd
    # answers NoSuchUnit
    "GetUnit": ("s", "o", "if str(args[0]) not in self.units:\n"
                "    raise dbus.exceptions.DBusException('Unit %s not loaded.' % args[0],"
                " name='org.freedesktop.systemd1.NoSuchUnit')\n"
                "ret = self.units[str(args[0])]"),
}

UNITS = {  # name: (unit file state, active)
    "ssh.service": ("enabled", True),
    "avahi-daemon.service": ("enabled", True),
    "cups.service": ("disabled", False),
    "rsync.service": ("masked", False),
    "nftables.service": ("disabled", False),
}

DOC = {"id": "svc", "version": 1, "mode": "enforce", "settings": [
    {"id": "avahi", "kind": "service", "unit": "avahi-daemon", "enablement": "masked",
     "active": False, "restore_on_removal": True},
    {"id": "ssh", "kind": "service", "unit": "ssh.service", "enablement": "enabled",
     "active": True},
    {"id": "cups", "kind": "service", "unit": "cups", "enablement": "enabled", "active": True,
     "restore_on_removal": True},
    {"id": "ghost", "kind": "service", "unit": "telnetd", "enablement": "disabled",
     "active": False},
    {"id": "rsync", "kind": "service", "unit": "rsync", "enablement": "disabled"},
    {"id": "fw", "kind": "firewall", "restore_on_removal": True},
]}


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)


def main():
    reason = dbusmock_bus.skip_reason()
    if reason:
        print("SKIP:", reason)
        return
    import dbus
    with tempfile.TemporaryDirectory() as tmp, dbusmock_bus.MockBus("systemd") as mb:
        mock_if, manager = mb.mock, mb.interface(MANAGER)
        for name, (ins, outs, code) in UFS_CODE.items():
            mock_if.AddMethod(MANAGER, name, ins, outs, code)
        mock_if.AddMethod(MOCK, "SetUfs", "ss", "",
                          "self.ufs = getattr(self, 'ufs', {})\n"
                          "self.ufs[str(args[0])] = str(args[1])")
        mock_if.AddMethod(MOCK, "GetUfs", "s", "s",
                          "ret = getattr(self, 'ufs', {}).get(str(args[0]), 'missing')")
        for name, (ufs, active) in UNITS.items():
            mock_if.AddMockUnit(name)
            mock_if.SetUfs(name, ufs)
            if active:
                manager.StartUnit(name, "replace")

        root, state = os.path.join(tmp, "root"), os.path.join(tmp, "state")
        os.makedirs(os.path.join(root, "etc"))
        with open(os.path.join(root, "etc/nftables.conf"), "w") as f:
            f.write("flush ruleset\n")
        doc = os.path.join(tmp, "svc.json")
        with open(doc, "w") as f:
            json.dump(DOC, f)
        wenv = mb.env()

        def ward(*args):
            p = subprocess.run([WARD, "--state-dir", state, "baseline", *args, "--root", root,
                                "--json"], capture_output=True, text=True, env=wenv,
                               timeout=60)
            check(p.returncode == 0, "ward %s: exit %d\n%s%s" % (args, p.returncode,
                                                                  p.stdout, p.stderr))
            return {r["id"]: r for r in json.loads(p.stdout)["results"]}

        def active(unit):
            props = mb.interface(dbusmock_bus.PROPS_IFACE, manager.GetUnit(unit))
            return str(props.Get("org.freedesktop.systemd1.Unit", "ActiveState"))

        def changes():
            return [(m, [str(a) if not isinstance(a, dbus.Array) else [str(x) for x in a]
                         for a in args])
                    for m, args in mb.get_calls(CHANGES)]

        mb.clear_calls()
        res = ward("check", doc)
        check(res["avahi"]["result"] == "FAILED" and
              res["avahi"]["actual"] == "enabled, active", res["avahi"])
        check(res["ssh"]["result"] == "KEPT", res["ssh"])
        check(res["ghost"]["result"] == "KEPT" and res["ghost"]["actual"] == "not installed",
              res["ghost"])
        check(res["rsync"]["result"] == "KEPT", res["rsync"])  # masked counts as disabled
        check(res["fw"]["result"] == "FAILED" and
              res["fw"]["actual"] == "nftables: disabled, inactive", res["fw"])
        check(changes() == [], "check changed something: %s" % changes())

        res = ward("apply", doc)
        for sid, want in (("avahi", "REPAIRED"), ("ssh", "KEPT"), ("cups", "REPAIRED"),
                          ("ghost", "KEPT"), ("rsync", "KEPT"), ("fw", "REPAIRED")):
            check(res[sid]["result"] == want, "%s: %s" % (sid, res[sid]))
        calls = changes()
        for c in (("MaskUnitFiles", [["avahi-daemon.service"], "0", "0"]),
                  ("StopUnit", ["avahi-daemon.service", "replace"]),
                  ("EnableUnitFiles", [["cups.service"], "0", "0"]),
                  ("StartUnit", ["cups.service", "replace"]),
                  ("EnableUnitFiles", [["nftables.service"], "0", "0"]),
                  ("StartUnit", ["nftables.service", "replace"])):
            check(c in calls, "call %s missing from %s" % (c, calls))
        check(sum(1 for c in calls if c[0] == "Reload") == 3, calls)
        check(not any("ssh.service" in str(c) for c in calls), calls)
        check(mock_if.GetUfs("avahi-daemon.service") == "masked", "avahi not masked")
        check(active("avahi-daemon.service") == "inactive", "avahi still active")
        check(mock_if.GetUfs("cups.service") == "enabled" and
              active("cups.service") == "active", "cups")

        mb.clear_calls()
        res = ward("apply", doc)
        check(all(r["result"] == "KEPT" for r in res.values()), res)
        check(changes() == [], "second apply changed: %s" % changes())

        res = ward("remove", "svc")
        for sid in ("avahi", "cups", "fw"):
            check(res[sid]["result"] == "REPAIRED", "%s: %s" % (sid, res[sid]))
        check(mock_if.GetUfs("avahi-daemon.service") == "enabled" and
              active("avahi-daemon.service") == "active", "avahi not restored")
        check(mock_if.GetUfs("cups.service") == "disabled" and
              active("cups.service") == "inactive", "cups not restored")
        check(mock_if.GetUfs("nftables.service") == "disabled" and
              active("nftables.service") == "inactive", "nftables not restored")
        check(("UnmaskUnitFiles", [["avahi-daemon.service"], "0"]) in changes(),
              changes())
    print("ok")


if __name__ == "__main__":
    main()
