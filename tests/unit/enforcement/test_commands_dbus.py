#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The command handlers that need logind, against python-dbusmock's logind template on a
private dbus-daemon (WARD_SYSTEM_BUS_ADDRESS; the machine's own logind is never reached):
test_commands' bus_* cases run one by one with WARD_TEST_BUS=1, and this driver judges what
they did to the mock from its call log:
  - lock with no graphical session (empty list and a note), then with sessions of every kind
    (only the wayland and x11 user sessions are reported), LockSessions called;
  - reboot and shutdown through start, await_ack and resume(ACKED): Reboot(false) /
    PowerOff(false) called exactly once, no result reported; a polkit refusal is WARD_EACCES;
  - full_wipe end to end on a LUKS2 container in a loop device (root, cryptsetup and losetup
    needed; detached again in a finally): afterwards `cryptsetup luksDump` shows no key slot,
    `open --test-passphrase` fails for both keys, and PowerOff was called; then the overwrite
    of a second loop device, which must read back as zeros.

Skips (exit 0, "SKIP: reason") without dbusmock or dbus-daemon; the wipe part alone is
skipped when it cannot run here.

Usage: test_commands_dbus.py TEST_COMMANDS"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import dbusmock_bus  # noqa: E402

EXE = os.path.abspath(sys.argv[1])
MANAGER = "org.freedesktop.login1.Manager"
ACTIONS = ("LockSessions", "LockSession", "Reboot", "PowerOff", "Suspend", "Hibernate")
SIZE = 32 * 1024 * 1024
LOSETUP = "/usr/sbin/losetup" if os.path.exists("/usr/sbin/losetup") else "/sbin/losetup"
ENV_C = dict(os.environ, LANG="C", LC_ALL="C")

# id: (seat, uid, user, Type, Class)
SESSIONS = {
    "c1": ("seat0", 1000, "alice", "wayland", "user"),
    "c2": ("seat0", 1000, "alice", "tty", "user"),
    "c3": ("seat0", 1001, "bob", "x11", "user"),
    "c4": ("seat0", 120, "gdm", "x11", "greeter"),
}


def skip(why):
    print("SKIP:", why)
    sys.exit(0)


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)


def run_case(addr, case, **extra):
    env = dbusmock_bus.client_env(addr, WARD_TEST_BUS="1", **extra)
    p = subprocess.run([EXE, case], capture_output=True, text=True, env=env, timeout=120)
    check(p.returncode == 0, "test_commands %s: exit %d\n%s%s" % (case, p.returncode, p.stdout,
                                                                   p.stderr))
    check("ok " + case in p.stdout and "skip" not in p.stdout,
          "test_commands %s did not run:\n%s" % (case, p.stdout))
    print("ok:", case)


def active_slots(dump):
    """Key slots in LUKS2 luksDump text: the "  N: type" entries under "Keyslots:"."""
    n, in_slots = 0, False
    for line in dump.splitlines():
        if line and not line[0].isspace():
            in_slots = line.rstrip() == "Keyslots:"
            continue
        if in_slots and line.startswith("  ") and line.strip().split(":")[0].isdigit():
            n += 1
    return n


def find_cryptsetup():
    for p in ("/sbin/cryptsetup", "/usr/sbin/cryptsetup"):
        if os.access(p, os.X_OK):
            return p
    return None


def wipe_tests(mb, calls, tmp):
    cs = find_cryptsetup()
    if os.geteuid() != 0:
        print("SKIP (wipe part): not root (loop devices)")
        return
    if not cs:
        print("SKIP (wipe part): cryptsetup not installed (package cryptsetup-bin)")
        return

    def crypt(*args, check_rc=True):
        p = subprocess.run([cs] + list(args), capture_output=True, text=True, env=ENV_C)
        if check_rc and p.returncode != 0:
            print("FAIL: cryptsetup", " ".join(args), "exit", p.returncode, p.stderr.strip())
            sys.exit(1)
        return p

    keys = []
    for name in ("key", "key2"):
        k = os.path.join(tmp, name)
        with open(k, "wb") as f:
            f.write(os.urandom(32))
        keys.append(k)
    devs = []
    try:
        for name in ("luks.img", "plain.img"):
            img = os.path.join(tmp, name)
            with open(img, "wb") as f:
                f.truncate(SIZE)
            p = subprocess.run([LOSETUP, "-f", "--show", img], capture_output=True, text=True)
            if p.returncode != 0 or not p.stdout.strip().startswith("/dev/loop"):
                print("SKIP (wipe part): losetup failed:", p.stderr.strip())
                return
            devs.append((p.stdout.strip(), img))
        luks, _ = devs[0]
        plain, plain_img = devs[1]

        fmt = crypt("luksFormat", "--type", "luks2", "--batch-mode", "--pbkdf", "pbkdf2",
                    "--pbkdf-force-iterations", "1000", "--key-file", keys[0], luks,
                    check_rc=False)
        if fmt.returncode != 0:
            print("SKIP (wipe part): luksFormat does not work here:", fmt.stderr.strip())
            return
        crypt("luksAddKey", "--batch-mode", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations",
              "1000", "--key-file", keys[0], luks, keys[1])
        for k in keys:
            crypt("open", "--test-passphrase", "--key-file", k, luks)
        uuid = crypt("luksUUID", luks).stdout.strip()
        check(active_slots(crypt("luksDump", luks).stdout) == 2, "two key slots before")

        mb.clear_calls()
        run_case(mb.address, "bus_wipe_luks", WARD_TEST_WIPE_DEVICE=luks, WARD_TEST_WIPE_UUID=uuid)
        d = crypt("luksDump", luks, check_rc=False)
        check(d.returncode != 0 or active_slots(d.stdout) == 0,
              "luksDump still shows key slots:\n" + d.stdout)
        for k in keys:
            t = crypt("open", "--test-passphrase", "--key-file", k, luks, check_rc=False)
            check(t.returncode != 0, "the key %s still opens the container" % k)
        check(crypt("isLuks", luks, check_rc=False).returncode != 0, "still a LUKS device")
        # the first ACKED powered off after the erase, the resumed one again without erasing
        check(calls() == [("PowerOff", [False])] * 2, "wipe: calls %s" % calls())
        print("ok: LUKS container on", luks, "erased")

        with open(plain_img, "r+b") as f:
            f.write(os.urandom(SIZE))
        mb.clear_calls()
        run_case(mb.address, "bus_wipe_overwrite", WARD_TEST_OVERWRITE_DEVICE=plain)
        with open(plain_img, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                check(b.count(0) == len(b), "the overwritten device is not all zeros")
        check(calls() == [("PowerOff", [False])], "overwrite: calls %s" % calls())
        print("ok: overwrite of", plain)
    finally:
        for dev, _ in devs:
            d = subprocess.run([LOSETUP, "-d", dev], capture_output=True, text=True)
            if d.returncode != 0:
                print("WARNING: losetup -d", dev, "failed:", d.stderr.strip())


def main():
    reason = dbusmock_bus.skip_reason()
    if reason:
        skip(reason)
    with tempfile.TemporaryDirectory(prefix="ward-cmd-") as tmp, \
            dbusmock_bus.MockBus("logind") as mb:
        addr = mb.address

        def calls():
            return mb.calls(ACTIONS)

        # lock: nobody logged in graphically yet
        mb.clear_calls()
        run_case(addr, "bus_lock_none")
        check(calls() == [("LockSessions", [])], "lock (none): calls %s" % calls())

        for sid, (seat, uid, user, stype, cls) in SESSIONS.items():
            mb.add_session(sid, seat, uid, user, stype, cls)
        mb.clear_calls()
        run_case(addr, "bus_lock")
        check(calls() == [("LockSessions", [])], "lock: calls %s" % calls())

        # reboot / shutdown: one non-interactive call each after the acknowledgement
        mb.clear_calls()
        run_case(addr, "bus_reboot")
        check(calls() == [("Reboot", [False])], "reboot: calls %s" % calls())
        mb.clear_calls()
        run_case(addr, "bus_shutdown")
        check(calls() == [("PowerOff", [False])], "shutdown: calls %s" % calls())

        wipe_tests(mb, calls, tmp)

        # polkit says no: the handler reports it (last: the mock's Reboot stays denied)
        mb.mock.AddMethod(MANAGER, "Reboot", "b", "",
                          "raise dbus.exceptions.DBusException('Access denied by policy',"
                          " name='org.freedesktop.DBus.Error.AccessDenied')")
        run_case(addr, "bus_reboot_denied")
    print("PASS")


if __name__ == "__main__":
    main()
