#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ward-tray for real: under Xvfb with a private session bus, a real notification daemon
(dunst) and a real StatusNotifierWatcher (Debian's status-notifier-watcher), against a
real agent enrolled with a real ward-server. What the item shows is read back over D-Bus
(org.kde.StatusNotifierItem: IconName, Title), the menu is driven over com.canonical.dbusmenu
as a panel would click it, notifications are read from dunst's history (dunstctl), and a
screenshot of the status window is saved in the build tree as tray-window.png. Also: no
StatusNotifierItem host (said once), the German translation, the icon hidden by policy."""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from wardlib import Proc, check, main, wait_until  # noqa: E402
import test_ipc  # noqa: E402  (its server + agent set-up)

TRAY = os.environ.get("WARD_TRAY_BIN", "ward-tray")
ARTIFACTS = os.environ.get("WARD_TRAY_ARTIFACTS", os.getcwd())
NEEDS = ("Xvfb", "dbus-daemon", "dunst", "dunstctl", "status-notifier-watcher", "xwd",
         "localedef")
ITEM = "org.kde.StatusNotifierItem"
PROPS = "org.freedesktop.DBus.Properties"


def skip_reason():
    missing = [n for n in NEEDS if not shutil.which(n)]
    if missing:
        return "needs %s (scripts/install-deps)" % ", ".join(missing)
    if not os.path.exists(TRAY):
        return "ward-tray is not built (WARD_TRAY=OFF)"
    try:
        import dbus  # noqa: F401
    except ImportError:
        return "needs python3-dbus"
    return None


class Desktop:
    """Xvfb, a session bus and dunst; the watcher when asked for."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []
        self.display = ":%d" % (50 + os.getpid() % 900)
        xdg = os.path.join(tmp, "xdg")
        os.makedirs(xdg, mode=0o700)
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        self.procs.append(subprocess.Popen(["Xvfb", self.display, "-screen", "0", "900x600x24",
                                            "-nolisten", "tcp"], stderr=subprocess.DEVNULL))
        bus = os.path.join(tmp, "bus")
        self.address = "unix:path=" + bus
        self.procs.append(subprocess.Popen(["dbus-daemon", "--session", "--nofork",
                                            "--nopidfile", "--address=" + self.address],
                                           stdout=subprocess.DEVNULL))
        wait_until(lambda: os.path.exists(bus), 10, what="the session bus")
        wait_until(lambda: os.path.exists("/tmp/.X11-unix/X" + self.display[1:]), 10,
                   what="Xvfb")
        self.env = dict(os.environ, DISPLAY=self.display, DBUS_SESSION_BUS_ADDRESS=self.address,
                        XDG_RUNTIME_DIR=xdg, HOME=home, LANG="C.UTF-8", LANGUAGE="",
                        NO_AT_BRIDGE="1", GDK_BACKEND="x11",
                        WARD_TRAY_POLICY=os.path.join(tmp, "tray.json"),
                        WARD_TRAY_LOCALEDIR=os.path.join(os.path.dirname(TRAY), "..", "locale"))
        self.procs.append(subprocess.Popen(["dunst"], env=self.env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))
        import dbus
        self.bus = dbus.bus.BusConnection(self.address)
        wait_until(lambda: self.bus.name_has_owner("org.freedesktop.Notifications"), 10,
                   what="dunst on the bus")

    def watcher(self):
        self.procs.append(subprocess.Popen(["status-notifier-watcher"], env=self.env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_until(lambda: self.bus.name_has_owner("org.kde.StatusNotifierWatcher"), 10,
                   what="the StatusNotifierWatcher")

    def item(self):
        """The tray's item as the watcher has it registered, or None."""
        try:
            w = self.bus.get_object("org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher")
            names = w.Get("org.kde.StatusNotifierWatcher", "RegisteredStatusNotifierItems",
                          dbus_interface=PROPS)
        except Exception:
            return None
        for n in names:
            o = self.bus.get_object(str(n), "/org/ayatana/NotificationItem/ward_tray")
            try:
                if o.Get(ITEM, "Id", dbus_interface=PROPS) == "ward-tray":
                    return o
            except Exception:
                continue
        return None

    def props(self):
        o = self.item()
        return {k: str(v) for k, v in o.GetAll(ITEM, dbus_interface=PROPS).items()
                if k in ("IconName", "Title", "Status", "Menu")} if o else {}

    def menu(self):
        """{label: (id, visible, enabled)} of the item's menu over dbusmenu."""
        o = self.item()
        m = self.bus.get_object(o.bus_name, str(o.Get(ITEM, "Menu", dbus_interface=PROPS)))
        _, layout = m.GetLayout(0, -1, [], dbus_interface="com.canonical.dbusmenu")
        out = {}
        for child in layout[2]:
            cid, p = int(child[0]), child[1]
            if "label" in p:
                out[str(p["label"])] = (cid, bool(p.get("visible", True)),
                                        bool(p.get("enabled", True)))
        return out, m

    def click(self, label):
        import dbus
        items, m = self.menu()
        check(label in items and items[label][1], "no visible %r in %s" % (label, items))
        m.Event(dbus.Int32(items[label][0]), "clicked", dbus.Int32(0, variant_level=1),
                dbus.UInt32(0), dbus_interface="com.canonical.dbusmenu")

    def notifications(self):
        p = subprocess.run(["dunstctl", "history"], env=self.env, capture_output=True,
                           text=True)
        try:
            return [(n["summary"]["data"], n["body"]["data"]) for n in
                    json.loads(p.stdout)["data"][0]]
        except (ValueError, KeyError, IndexError):
            return []

    def screenshot(self, path):
        """The root window as PNG (xwd's ZPixmap at 24/32 bpp, converted here)."""
        raw = subprocess.run(["xwd", "-root", "-silent", "-display", self.display],
                             capture_output=True, check=True).stdout
        hsize, _, _, depth, w, h = struct.unpack(">6I", raw[:24])
        bpl = struct.unpack(">I", raw[48:52])[0]
        ncolors = struct.unpack(">I", raw[76:80])[0]
        off = hsize + ncolors * 12
        rows = []
        for y in range(h):
            line = raw[off + y * bpl: off + y * bpl + w * 4]
            px = bytearray()
            for x in range(w):
                b, g, r = line[4 * x], line[4 * x + 1], line[4 * x + 2]
                px += bytes((r, g, b))
            rows.append(b"\0" + bytes(px))

        def chunk(t, d):
            c = struct.pack(">I", len(d)) + t + d
            return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
               + chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) + chunk(b"IEND", b""))
        with open(path, "wb") as f:
            f.write(png)
        return path

    def close(self):
        for p in reversed(self.procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def start_tray(d, sock, *args, env=None):
    return Proc([TRAY, "--socket", sock] + list(args), env=dict(d.env, **(env or {})))


# GTK's own allocations that live until exit are not Ward's to judge: in the sanitizer build
# LeakSanitizer is off for ward-tray (memory errors still abort).
os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"


def case_states_menu_notifications(tmp):
    """Each agent state shows as its icon and title; the menu's Sync now and Later reach
    the real agent; compliance turning red and a scheduled restart are notified; the
    status window (opened by a second `ward-tray --window`) says which setting fails."""
    reason = skip_reason()
    if reason:
        print("SKIP:", reason)
        return
    d = Desktop(tmp)
    s = a = tray = None
    try:
        d.watcher()
        s, a = test_ipc.setup(tmp)
        tray = start_tray(d, a.sock)
        wait_until(lambda: d.props().get("IconName") == "security-high", 20,
                   what="the compliant icon")
        check(d.props()["Title"] == "Ward: enrolled; no policy assigned", d.props())
        items, _ = d.menu()
        check(not items["Restart now"][1] and not items["Later"][1] and items["Sync now"][2],
              items)
        # Sync now reaches the agent
        mark = a.proc.mark()
        d.click("Sync now")
        a.proc.wait_for("sync asked for by local user", start=mark)
        # a failing setting: the icon turns, a notification says so
        with open(os.path.join(a.root, "etc", "blocker"), "w") as f:
            f.write("x")
        test_ipc.put_baseline(s, tmp, a.device, [
            {"id": "motd", "kind": "file", "path": "/etc/blocker/motd", "content": "hi",
             "description": "The message of the day names the owner"}])
        s.cli("wake", a.device, rc=None)
        wait_until(lambda: d.props().get("IconName") == "security-low", 30,
                   what="the not-compliant icon")
        check("1 setting does not meet" in d.props()["Title"], d.props())
        wait_until(lambda: any(t == "Device not compliant" for t, _ in d.notifications()), 10,
                   what="the not-compliant notification")
        # a reboot with one deferral: icon, notification, Later postpones it
        s.cli_json("command", "send", a.device, "reboot", "--grace", "900", "--deferrals",
                   "1", "--message", "Updates need a restart")
        wait_until(lambda: d.props().get("IconName") == "system-reboot", 20,
                   what="the restart icon")
        check("will restart at" in d.props()["Title"], d.props())
        wait_until(lambda: any(t == "Restart scheduled" for t, _ in d.notifications()), 10,
                   what="the restart notification")
        items, _ = d.menu()
        check(items["Restart now"][1] and items["Later"][1], items)
        mark = a.proc.mark()
        d.click("Later")
        a.proc.wait_for("postponed by the user (1 of 1)", start=mark)
        wait_until(lambda: not d.menu()[0]["Later"][1], 10, what="Later gone (no deferral left)")
        wait_until(lambda: any(t == "Restart moved" for t, _ in d.notifications()), 10,
                   what="the restart-moved notification")
        # the status window through a second instance, and a screenshot
        p = subprocess.run([TRAY, "--socket", a.sock, "--window"], env=d.env, timeout=20)
        check(p.returncode == 0, "ward-tray --window exited %d" % p.returncode)
        time.sleep(1.5)
        shot = d.screenshot(os.path.join(ARTIFACTS, "tray-window.png"))
        print("screenshot:", shot)
        # no agent: the warning icon
        a.stop()
        wait_until(lambda: d.props().get("IconName") == "dialog-warning", 20,
                   what="the not-running icon")
        check(d.props()["Title"] == "Ward: the device management agent is not running",
              d.props())
    finally:
        if tray:
            tray.stop()
        if a:
            a.stop(signal.SIGKILL)
        if s:
            s.stop()
        d.close()


def case_no_host_and_translation(tmp):
    """Started where no StatusNotifierItem host runs, the tray says so once and keeps
    running (its notifications still work). With a host and a German locale, the item's
    title and menu are German. With the icon hidden by policy the item is Passive."""
    reason = skip_reason()
    if reason:
        print("SKIP:", reason)
        return
    d = Desktop(tmp)
    tray = None
    try:
        # a German locale of the test's own (LOCPATH), not the machine's
        # (exit 4 is "warnings"; what counts is that the locale is there)
        loc = os.path.join(tmp, "locale")
        os.makedirs(loc)
        subprocess.run(["localedef", "-c", "-i", "de_DE", "-f", "UTF-8",
                        os.path.join(loc, "de_DE.UTF-8")], capture_output=True)
        check(os.path.exists(os.path.join(loc, "de_DE.UTF-8", "LC_MESSAGES")),
              "localedef made no de_DE.UTF-8")
        german = {"LOCPATH": loc, "LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8"}
        tray = start_tray(d, os.path.join(tmp, "nothing.sock"))
        tray.wait_for("no StatusNotifierItem host in this session")
        time.sleep(1)
        check(tray.p.poll() is None, "the tray exited")
        check(tray.count("no StatusNotifierItem host") == 1, tray.text())
        tray.stop()
        # with a host, in German
        d.watcher()
        tray = start_tray(d, os.path.join(tmp, "nothing.sock"), env=german)
        wait_until(lambda: d.props().get("IconName") == "dialog-warning", 20,
                   what="the item")
        check(d.props()["Title"] == "Ward: der Geräteverwaltungsagent läuft nicht", d.props())
        check(d.props()["Status"] == "Active", d.props())
        check("Jetzt synchronisieren" in d.menu()[0], d.menu()[0])
        tray.stop()
        # the icon hidden by policy: the item is Passive (hosts do not show it)
        with open(os.path.join(tmp, "tray.json"), "w") as f:
            json.dump({"show_icon": False}, f)
        tray = start_tray(d, os.path.join(tmp, "nothing.sock"))
        wait_until(lambda: d.props().get("Status") == "Passive", 20, what="a Passive item")
    finally:
        if tray:
            tray.stop()
        d.close()


if __name__ == "__main__":
    main({k[5:]: v for k, v in globals().items() if k.startswith("case_")})
