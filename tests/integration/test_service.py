#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`ward run` as a service manager runs it, against the real ward-server on loopback:
enrollment without a terminal (agent/provision.h: a token file owned by the agent's user
with mode 0600, or WARD_ENROLL_TOKEN; retried while the service is down, not retried when
the token is refused, deleted once enrolled) and the sd_notify protocol the systemd unit
relies on (READY=1, STATUS=, WATCHDOG=1 sent from the loop, so a stopped loop stops the
pings). The notify socket is a datagram socket of the test's own: what systemd would
receive. Usage: test_service.py CASE (WARD_BIN, WARD_SERVER_BIN)."""
import json
import os
import signal
import socket
import threading
import time

from wardlib import Agent, Server, check, main, wait_until

FAST = {"backoff_base": 1, "backoff_cap": 2, "connect_timeout": 2}


def token_file(tmp, token, mode=0o600):
    path = os.path.join(tmp, "enroll.token")
    with open(path, "w") as f:
        f.write(token + "\n")
    os.chmod(path, mode)
    return path


def agent_with_token_file(tmp, s, mode=0o600, **cfg):
    path = token_file(tmp, s.token(), mode)
    # the config names the file (the default is /etc/ward/enroll.token)
    return Agent(tmp, config=dict(FAST, enroll_token_file=path, **cfg)), path


def enrolled(a):
    return a.status().get("enrolled")


def server_saw_checkin(s, dev):
    return any(d.get("device_id") == dev and d.get("last_checkin") for d in s.devices())


def case_provision_token_file(tmp):
    """First start with a private token file: enrolls, deletes the file, checks in."""
    s = Server(tmp).start()
    a, path = agent_with_token_file(tmp, s)
    try:
        a.start()
        a.proc.wait_for("enrolled as", 20)
        dev = a.status()["device_id"]
        check(not os.path.exists(path), "the token file is still there after enrollment")
        wait_until(lambda: server_saw_checkin(s, dev), 20, what="the first check-in")
        # a restart finds the identity and no token: nothing to enroll
        a.stop()
        a.start()
        time.sleep(1)
        check(a.proc.count("enrolling with the token") == 0, a.proc.text())
        check(a.status()["device_id"] == dev, "the identity changed on restart")
        check(a.stop() == 0, "ward run did not stop cleanly")
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_provision_open_permissions(tmp):
    """A token file others may read is refused (and kept); fixed + SIGHUP: enrolls."""
    s = Server(tmp).start()
    a, path = agent_with_token_file(tmp, s, mode=0o644)
    try:
        a.start()
        a.proc.wait_for("enrollment refused", 20)
        check("readable by other users" in a.proc.text(), a.proc.text())
        check(os.path.exists(path), "a refused token file was deleted")
        time.sleep(2.5)  # more than the backoff cap: a refused token is not retried
        check(a.proc.count("enrolling with the token") == 1, a.proc.text())
        check(not enrolled(a), "enrolled with a token file others could read")
        os.chmod(path, 0o600)
        a.proc.p.send_signal(signal.SIGHUP)
        a.proc.wait_for("enrolled as", 20)
        check(not os.path.exists(path), "the token file is still there after enrollment")
        check(a.stop() == 0, "ward run did not stop cleanly")
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_provision_server_down(tmp):
    """Imaged off-network: the service is unreachable at first start; the agent retries
    with backoff and enrolls once it is there, with the token file intact meanwhile."""
    s = Server(tmp)  # initialised, not serving yet
    a, path = agent_with_token_file(tmp, s)
    try:
        a.start()
        mark = a.proc.mark()
        wait_until(lambda: len(a.proc.matching("enrollment failed", mark)) >= 3, 30,
                   what="three failed enrollment attempts")
        fails = a.proc.matching("enrollment failed", mark)
        check(all("could not connect" in l or "cannot send" in l for _, l in fails), fails)
        gaps = [b[0] - a_[0] for a_, b in zip(fails, fails[1:])]
        check(all(g >= 0.8 for g in gaps), "retries closer than the 1 s floor: %s" % gaps)
        check(os.path.exists(path), "the token file went while not enrolled")
        s.start()
        a.proc.wait_for("enrolled as", 20, mark)
        dev = a.status()["device_id"]
        wait_until(lambda: server_saw_checkin(s, dev), 20, what="the first check-in")
        check(not os.path.exists(path), "the token file is still there after enrollment")
        check(a.stop() == 0, "ward run did not stop cleanly")
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_provision_env_token(tmp):
    """WARD_ENROLL_TOKEN in the service's environment; a refused one is not retried."""
    s = Server(tmp).start()
    a = Agent(tmp, config=dict(FAST, enroll_token_file=os.path.join(tmp, "none")))
    env = dict(os.environ)
    try:
        good = s.token()
        bad = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
        env["WARD_ENROLL_TOKEN"] = bad
        a.start(env=env)
        a.proc.wait_for("enrollment refused", 20)
        time.sleep(2.5)
        check(a.proc.count("enrolling with the token") == 1, a.proc.text())
        check(not enrolled(a), "enrolled with a malformed token")
        a.stop()
        env["WARD_ENROLL_TOKEN"] = good
        a.start(env=env)
        a.proc.wait_for("enrolled as", 20)
        # the token is scrubbed from the process's environment block once taken (what
        # /proc/PID/environ shows) and never logged
        with open("/proc/%d/environ" % a.proc.p.pid, "rb") as f:
            environ = f.read()
        check(good.encode() not in environ, "the token is still in /proc/PID/environ")
        secret = good.split(".", 1)[1]
        check(secret not in a.proc.text(), "the token was logged")
        check(a.stop() == 0, "ward run did not stop cleanly")
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_service_install(tmp):
    """`ward service install|uninstall|status` into a scratch root (systemd is not PID 1
    here; the VM harness runs it for real): the packages' unit with ExecStart= pointing at
    this binary and this invocation's paths, quoted for systemd; a unit Ward did not write,
    or one a package ships, is never replaced or removed."""
    import shutil
    import subprocess
    from wardlib import WARD
    root = os.path.join(tmp, "root")
    os.makedirs(root)
    odd = os.path.join(tmp, "we ird%$\"dir")  # systemd specifiers, expansion, a quote
    os.makedirs(odd)
    cfg = os.path.join(odd, "agent.json")
    with open(cfg, "w") as f:
        f.write("{}")
    unit = os.path.join(root, "etc/systemd/system/ward.service")

    def ward(*args, rc=0):
        r = subprocess.run([WARD, "--root", root, "--config", cfg] + list(args),
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == rc, "ward %s: exit %d, want %d\n%s%s"
              % (" ".join(args), r.returncode, rc, r.stdout, r.stderr))
        return r

    r = ward("service", "install")
    check("systemd is not running here" in r.stdout, r.stdout)
    with open(unit) as f:
        text = f.read()
    check(text.startswith("# Written by `ward service install`"), text[:200])
    shipped = open(os.path.join(os.path.dirname(WARD), "../../installer/linux/ward.service")
                   ).read() if os.path.exists(os.path.join(os.path.dirname(WARD),
                                                           "../../installer/linux")) else None
    esc = cfg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    want = 'ExecStart="%s" "--config" "%s" "--state-dir" "/var/lib/ward" "run"' % (
        os.path.realpath(WARD), esc)
    lines = [l for l in text.splitlines() if l.startswith("ExecStart=")]
    check(lines == [want], "%s\nwant %s" % (lines, want))
    for key in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "StateDirectoryMode=0700"):
        check(key in text, "%s missing from the unit" % key)
    if shipped:
        check(text.count("\n") == shipped.count("\n") + 1, "the unit differs from the shipped one")
    # systemd's own parser reads the line back as these arguments
    an = shutil.which("systemd-analyze")
    if an:
        v = subprocess.run([an, "verify", "--root=" + root, unit], capture_output=True, text=True)
        check("Failed to parse" not in v.stderr and "Invalid" not in v.stderr
              and "Unbalanced" not in v.stderr, v.stderr)
    st = json.loads(ward("service", "status", "--json").stdout)
    check(st["installed"] and st["path"] == "/etc/systemd/system/ward.service"
          and st["manager"] is False, st)
    ward("service", "install")  # again: its own unit is replaced, not refused
    ward("service", "uninstall")
    check(not os.path.exists(unit), "the unit is still there")
    ward("service", "uninstall", rc=1)  # nothing to remove
    # a unit someone else wrote stays as it is
    with open(unit, "w") as f:
        f.write("[Service]\nExecStart=/bin/true\n")
    r = ward("service", "install", rc=1)
    check("not written by ward" in r.stderr, r.stderr)
    r = ward("service", "uninstall", rc=1)
    check("not written by ward" in r.stderr, r.stderr)
    check(open(unit).read() == "[Service]\nExecStart=/bin/true\n", "a foreign unit was touched")
    os.unlink(unit)
    # a package's unit: managed with systemctl, not by `ward service`
    os.makedirs(os.path.join(root, "usr/lib/systemd/system"))
    with open(os.path.join(root, "usr/lib/systemd/system/ward.service"), "w") as f:
        f.write("[Service]\n")
    r = ward("service", "install", rc=1)
    check("comes from a package" in r.stderr, r.stderr)
    check(not os.path.exists(unit), "installed over a package's unit")
    ward("service", "bogus", rc=2)


class NotifySocket:
    """The receiving end of sd_notify: every datagram with its arrival time."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.msgs = []
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            with self.lock:
                self.msgs.append((time.monotonic(), data.decode()))

    def having(self, text, since=0.0):
        with self.lock:
            return [t for t, m in self.msgs if t >= since and text in m.split("\n")]

    def close(self):
        self.sock.close()


def case_notify_watchdog(tmp):
    """READY=1 and STATUS= once running; WATCHDOG=1 at half of WATCHDOG_USEC while the loop
    runs, none while it is stopped (SIGSTOP: what a hung loop looks like to systemd), again
    once it runs; WATCHDOG_PID naming another process means no pings; STOPPING=1 at the end."""
    s = Server(tmp).start()
    a = Agent(tmp, config=FAST)
    ns = NotifySocket(os.path.join(tmp, "notify.sock"))
    try:
        a.enroll(s.token())
        env = dict(os.environ, NOTIFY_SOCKET=ns.path, WATCHDOG_USEC="400000")
        a.start(env=env)
        wait_until(lambda: ns.having("READY=1"), 10, what="READY=1")
        check(any(m.startswith("READY=1\nSTATUS=running") for _, m in ns.msgs), ns.msgs)
        t0 = time.monotonic()
        time.sleep(2.0)
        pings = ns.having("WATCHDOG=1", t0)
        check(8 <= len(pings) <= 14, "%d pings in 2 s at a 200 ms period" % len(pings))
        gaps = [b - a_ for a_, b in zip(pings, pings[1:])]
        check(max(gaps) < 0.4, "a gap of %.2f s between pings (the watchdog would fire)"
              % max(gaps))
        os.kill(a.proc.p.pid, signal.SIGSTOP)
        t_stop = time.monotonic()
        time.sleep(1.2)
        t_cont = time.monotonic()
        during = [t for t in ns.having("WATCHDOG=1", t_stop + 0.05) if t < t_cont]
        os.kill(a.proc.p.pid, signal.SIGCONT)
        check(during == [], "pings while the loop was stopped: %s" % during)
        wait_until(lambda: ns.having("WATCHDOG=1", t_cont), 3, what="pings after SIGCONT")
        check(a.stop() == 0, "ward run did not stop cleanly")
        check(ns.having("STOPPING=1"), "no STOPPING=1: %s" % ns.msgs[-3:])

        # WATCHDOG_PID of another process: this one must not ping
        env["WATCHDOG_PID"] = "1"
        t1 = time.monotonic()
        a.start(env=env)
        wait_until(lambda: ns.having("READY=1", t1), 10, what="READY=1 (second run)")
        time.sleep(1.0)
        check(ns.having("WATCHDOG=1", t1) == [], "pinged although WATCHDOG_PID is not ours")
        check(a.stop() == 0, "ward run did not stop cleanly")
    finally:
        a.stop(signal.SIGKILL)
        ns.close()
        s.stop()


if __name__ == "__main__":
    main({k[5:]: v for k, v in globals().items() if k.startswith("case_")})
