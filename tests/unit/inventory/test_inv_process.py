#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`ward inventory` as a process: no child processes (strace), the dpkg package count
equals `dpkg-query -W`, services through a private D-Bus daemon with python-dbusmock
acting as systemd (this machine has no system bus), the fixture roots validate, usage.
Usage: test_inv_process.py WARD_BINARY CASE"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

WARD = sys.argv[1]
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "inventory")


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def inventory(*args, env=None):
    p = subprocess.run([WARD, "inventory", "--json", *args], capture_output=True, text=True,
                       env=env, timeout=30)
    check(p.returncode == 0, "ward inventory failed: %s" % p.stderr)
    return json.loads(p.stdout)


def case_execve_count():
    if not shutil.which("strace"):
        print("SKIP: no strace")
        return
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "strace.log")
        p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve,fork,vfork,clone,clone3",
                            "-o", log, WARD, "inventory", "--json"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           timeout=60,
                           # LeakSanitizer cannot run under ptrace (and clones to scan)
                           env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
        check(p.returncode == 0, p.stderr)
        with open(log) as f:
            lines = f.read().splitlines()
    execs = [l for l in lines if "execve(" in l]
    forks = [l for l in lines if any(c in l for c in ("fork(", "clone(", "clone3("))]
    check(len(execs) == 1, "want exactly one execve (ward itself), got:\n" + "\n".join(execs))
    check(not forks, "want no fork/clone, got:\n" + "\n".join(forks))


def case_dpkg_count():
    q = subprocess.run(["dpkg-query", "-W"], capture_output=True, text=True, check=True)
    want = len(q.stdout.splitlines())
    doc = inventory("--section", "apps")
    got = [a for a in doc["apps"] if a["source"] == "dpkg"]
    check(len(got) == want, "dpkg rows %d, dpkg-query -W lists %d" % (len(got), want))
    names = {("%s:%s" % (a["name"], a["arch"])) for a in got}
    for line in q.stdout.splitlines():
        name = line.split("\t")[0]
        check(name in names or any(n.startswith(name + ":") for n in names),
              "dpkg-query lists %s, ward does not" % name)


UNITS = [
    ("ssh.service", "OpenBSD Secure Shell server", "loaded", "active", "running"),
    ("cron.service", "Regular background program processing daemon", "loaded", "active",
     "running"),
    ("bad.service", "A failed unit", "loaded", "failed", "failed"),
    ("dbus.socket", "D-Bus System Message Bus Socket", "loaded", "active", "running"),
]
FILES = [("/lib/systemd/system/ssh.service", "enabled"),
         ("/lib/systemd/system/cron.service", "enabled"),
         ("/lib/systemd/system/bad.service", "disabled"),
         ("/lib/systemd/system/rsync.service", "disabled"),
         ("/lib/systemd/system/dbus.socket", "static")]


def case_services_dbusmock():
    """Private dbus-daemon; python-dbusmock owns org.freedesktop.systemd1 on it and answers
    ListUnits and ListUnitFiles; ward is pointed at it with WARD_SYSTEM_BUS_ADDRESS."""
    try:
        import dbus  # noqa: F401
        import dbusmock  # noqa: F401
    except ImportError:
        print("SKIP: python3-dbusmock not installed (scripts/install-deps)")
        return
    import dbus
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "bus.conf")
        sock = os.path.join(tmp, "bus")
        with open(conf, "w") as f:
            f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"'
                    ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
                    "<busconfig><type>system</type><listen>unix:path=%s</listen>"
                    "<auth>EXTERNAL</auth><policy context=\"default\"><allow user=\"*\"/>"
                    "<allow own=\"*\"/><allow send_type=\"method_call\"/>"
                    "<allow send_destination=\"*\"/><allow receive_sender=\"*\"/></policy>"
                    "</busconfig>\n" % sock)
        daemon = subprocess.Popen(["dbus-daemon", "--config-file=" + conf, "--nofork",
                                   "--print-address"], stdout=subprocess.PIPE, text=True)
        mock = None
        try:
            addr = daemon.stdout.readline().strip()
            env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=addr)
            mock = subprocess.Popen(["/usr/bin/python3", "-m", "dbusmock", "--system",
                                     "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                     "org.freedesktop.systemd1.Manager"], env=env,
                                    stdout=subprocess.DEVNULL)
            bus = dbus.bus.BusConnection(addr)
            for _ in range(100):
                if bus.name_has_owner("org.freedesktop.systemd1"):
                    break
                time.sleep(0.05)
            obj = bus.get_object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
            units = ", ".join("(%r, %r, %r, %r, %r, '', '/u/%d', dbus.UInt32(0), '', '/')"
                              % (u + (i,)) for i, u in enumerate(UNITS))
            obj.AddMethod("org.freedesktop.systemd1.Manager", "ListUnits", "", "a(ssssssouso)",
                          "ret = dbus.Array([%s], signature='(ssssssouso)')" % units,
                          dbus_interface="org.freedesktop.DBus.Mock")
            files = ", ".join("(%r, %r)" % f for f in FILES)
            obj.AddMethod("org.freedesktop.systemd1.Manager", "ListUnitFiles", "", "a(ss)",
                          "ret = dbus.Array([%s], signature='(ss)')" % files,
                          dbus_interface="org.freedesktop.DBus.Mock")
            doc = inventory(env=dict(os.environ, WARD_SYSTEM_BUS_ADDRESS=addr))
        finally:
            if mock:
                mock.terminate()
                mock.wait(10)
            daemon.terminate()
            daemon.wait(10)
    check("services" not in doc["collection"]["errors"], doc["collection"]["errors"])
    svc = {s["name"]: s for s in doc["services"]}
    check(sorted(svc) == ["bad.service", "cron.service", "rsync.service", "ssh.service"],
          sorted(svc))
    check(svc["ssh.service"] == {"name": "ssh.service", "description":
                                 "OpenBSD Secure Shell server", "load_state": "loaded",
                                 "active_state": "active", "sub_state": "running",
                                 "enabled": "enabled"}, svc["ssh.service"])
    check(svc["bad.service"]["active_state"] == "failed", svc["bad.service"])
    check(svc["rsync.service"]["load_state"] == "not-loaded", svc["rsync.service"])
    check("apps" in doc and "os" in doc, "other sections present")


def case_services_no_bus():
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, WARD_SYSTEM_BUS_ADDRESS="unix:path=%s/none" % tmp)
        doc = inventory(env=env)
    e = doc["collection"]["errors"]["services"]
    check(e["code"] == "WARD_ENOTSUP" and "no system bus" in e["message"], e)
    check("services" not in doc, "no services section")
    for s in ("os", "cpu", "memory", "disks", "network", "apps"):
        check(s in doc, "section %s present" % s)


def case_root_fixtures():
    for root in ("laptop-luks", "desktop-dmi", "vm-debian12"):
        doc = inventory("--root", os.path.join(DATA, root))
        check(doc["collection"]["root"].endswith(root), doc["collection"])
        check(set(doc["collection"]["errors"]) == {"services"}, doc["collection"]["errors"])
    p = subprocess.run([WARD, "inventory", "--root", os.path.join(DATA, "laptop-luks")],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 0 and "BAT0 77%" in p.stdout and "root encrypted" in p.stdout,
          p.stdout)


def case_usage():
    p = subprocess.run([WARD, "inventory", "--section", "gpu"], capture_output=True, text=True)
    check(p.returncode == 2 and "unknown section" in p.stderr, p.stderr)
    p = subprocess.run([WARD, "inventory", "--bogus"], capture_output=True, text=True)
    check(p.returncode == 2, p.stderr)
    doc = inventory("--section", "os", "--section", "memory")
    check(sorted(doc) == ["collection", "memory", "os"], sorted(doc))


if __name__ == "__main__":
    globals()["case_" + sys.argv[2]]()
