#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The agent's local IPC (docs/ipc.md) against a real daemon enrolled with a real
ward-server: what any local user (nobody, through setpriv) may ask and may not, hostile
and broken clients, a squatted socket name, the sync rate limit, and a pending reboot
postponed and brought forward by the user of the active session (python-dbusmock's logind
on a private bus)."""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from wardlib import (Agent, Server, WARD, check, main, run, wait_until)  # noqa: E402
import dbusmock_bus  # noqa: E402
import ipc_client  # noqa: E402

FAST = {"backoff_base": 1, "backoff_cap": 2, "connect_timeout": 2}
CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ipc_client.py")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
MARKER = "ipc-secret-marker-7f3a"
# never the machine's own bus: a reboot the tests ask for must reach no logind
NO_BUS = {"WARD_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/ward-test-bus"}


def agent_env(extra=None):
    e = dict(os.environ, **NO_BUS)
    e.update(extra or {})
    return e


# What nobody runs, copied where nobody can reach it: the checkout and build tree may sit
# in a 0700 directory (CI clones into mktemp -d).
NB = {}


def sock_dir(tmp):
    """A directory nobody can reach (tmp is 0700 by mkdtemp) for the socket, and nobody's
    copies of the client and of ward."""
    os.chmod(tmp, 0o755)
    d = os.path.join(tmp, "run")
    os.makedirs(d, mode=0o755, exist_ok=True)
    b = os.path.join(tmp, "bin")
    if not os.path.isdir(b):
        os.makedirs(b, mode=0o755)
        NB["client"] = shutil.copy(CLIENT, os.path.join(b, "ipc_client.py"))
        NB["ward"] = shutil.copy(WARD, os.path.join(b, "ward"))
        for f in NB.values():
            os.chmod(f, 0o755)
    return d


def setup(tmp, env=None, **cfg):
    """A server and an enrolled, running agent whose enforcement root is a scratch tree
    (never this machine's /etc) and whose socket nobody can reach."""
    s = Server(tmp).start()
    path = os.path.join(sock_dir(tmp), "ward.sock")
    root = os.path.join(tmp, "agent", "root")
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    # the reboot command reads the boot id under its root
    bootf = os.path.join(root, "proc/sys/kernel/random/boot_id")
    os.makedirs(os.path.dirname(bootf), exist_ok=True)
    with open(bootf, "w") as f:
        f.write("11111111-2222-4333-8444-555555555555\n")
    a = Agent(tmp, config=dict(FAST, ipc_socket=path, root=root, **cfg))
    a.root = root
    a.sock = path
    a.enroll(s.token())
    a.device = a.status()["device_id"]
    a.start(env=agent_env(env))
    a.proc.wait_for("local IPC on " + path)  # "running" comes before the socket
    return s, a


def call(path, *reqs, user=None, rc=0):
    """Answers (parsed) to reqs sent on one connection, as root or as nobody."""
    argv = ([] if user is None else NOBODY) + [
        "/usr/bin/python3", CLIENT if user is None else NB["client"], path] + [
        r if isinstance(r, str) else json.dumps(r) for r in reqs]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    check(p.returncode == rc, "client exit %d, wanted %d: %s" % (p.returncode, rc, p.stderr))
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def one(path, req, user=None):
    return call(path, req, user=user)[0]


def raw_client(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def recv_frame(s):
    """One answer (parsed), or None when the daemon closed the connection."""
    f = ipc_client.recv_frame(s)
    return None if f is None else json.loads(f)


def put_baseline(s, tmp, device, settings, bid="it-ipc", version=1):
    path = os.path.join(tmp, "%s-v%d.json" % (bid, version))
    with open(path, "w") as f:
        json.dump({"id": bid, "version": version, "mode": "enforce",
                   "description": "IPC test baseline", "settings": settings}, f)
    s.cli("baseline", "put", path)
    s.cli("baseline", "assign", bid, device)


def case_status_any_user(tmp):
    """nobody reads live status and compliance over the socket (and `ward status` as nobody
    shows the daemon's view although the state database is 0700), with failing settings in
    words and without any setting parameter, key or token; root alone sees expected/actual."""
    s, a = setup(tmp)
    try:
        root = a.root
        # a setting that cannot be applied (its parent is a file), whose parameter holds the
        # marker: the marker must never reach a non-root client
        with open(os.path.join(root, "etc", "blocker"), "w") as f:
            f.write("x")
        put_baseline(s, tmp, a.device, [
            {"id": "motd", "kind": "file", "path": "/etc/blocker/motd", "content": MARKER,
             "description": "The message of the day names the owner"}])
        s.cli("wake", a.device, rc=None)
        wait_until(lambda: one(a.sock, {"verb": "compliance"}, user="nobody")["result"]
                   ["baselines"], 30, what="the baseline's evaluation")
        st = one(a.sock, {"verb": "status", "id": "q1"}, user="nobody")
        check(st["ok"] and st["id"] == "q1", st)
        r = st["result"]
        check(r["enrolled"] and r["device_id"] == a.device, r)
        check(r["daemon"]["pid"] == a.proc.p.pid, r["daemon"])
        check(r["you"] == {"user": "65534", "admin": False}, r["you"])
        comp = one(a.sock, {"verb": "compliance"}, user="nobody")["result"]["baselines"]
        check(len(comp) == 1 and comp[0]["id"] == "it-ipc" and not comp[0]["compliant"], comp)
        f = comp[0]["failing"]
        check(len(f) == 1 and f[0]["id"] == "motd" and f[0]["result"] == "FAILED" and
              f[0]["description"] == "The message of the day names the owner" and
              f[0]["error"], f)
        check("expected" not in f[0], f)
        secrets = [MARKER, "PRIVATE KEY", "BEGIN CERTIFICATE"]
        for text in (json.dumps(st), json.dumps(comp)):
            for sec in secrets:
                check(sec not in text, "%r in an answer to nobody: %s" % (sec, text))
        admin = one(a.sock, {"verb": "compliance"})["result"]["baselines"][0]["failing"][0]
        check("expected" in admin, admin)
        # the CLI as nobody: the database is out of reach, the daemon answers
        p = run(NOBODY + [NB["ward"], "--config", a.config, "--state-dir", a.state, "status",
                          "--json"], check_rc=0)
        j = json.loads(p.stdout)
        check(j["device_id"] == a.device and j["daemon"]["pid"] == a.proc.p.pid, j)
        p = run(NOBODY + [NB["ward"], "--config", a.config, "--state-dir", a.state, "status"],
                check_rc=0)
        check("daemon:            running, pid %d" % a.proc.p.pid in p.stdout, p.stdout)
        # no daemon: the CLI says why it cannot answer as nobody, and root reads the database
        a.stop()
        p = run(NOBODY + [NB["ward"], "--config", a.config, "--state-dir", a.state, "status"],
                check_rc=1)
        check("no agent daemon answers" in p.stderr, p.stderr)
        p = run(a.argv("status"), check_rc=0)
        check("not running (read from the state database)" in p.stdout, p.stdout)
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_admin_verbs(tmp):
    """reload and log_level are root's: nobody gets `denied` (and the log says so), root
    gets them done."""
    s, a = setup(tmp)
    try:
        for req in ({"verb": "reload"}, {"verb": "log_level", "level": "debug"}):
            ans = one(a.sock, req, user="nobody")
            check(not ans["ok"] and ans["error"]["code"] == "denied", ans)
        a.proc.wait_for("refused \"reload\" from local user 65534: root only")
        # any local user can ask for refusals: the log says so once per 10 s, not per request
        check(a.proc.count("from local user 65534: root only") == 1, a.proc.text())
        mark = a.proc.mark()
        ans = one(a.sock, {"verb": "log_level", "level": "debug", "id": 5})
        check(ans["ok"] and ans["id"] == 5 and ans["result"]["level"] == "debug", ans)
        ans = one(a.sock, {"verb": "reload"})
        check(ans["ok"], ans)
        a.proc.wait_for("configuration reloaded", start=mark)
        a.proc.wait_for("reload asked for by local user 0", start=mark)
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_malformed(tmp):
    """Bad frames get typed errors on the same connection (which stays usable); an
    oversized one is answered `too_large` and the connection closed; nothing of it changes
    the agent's state or stops it answering."""
    s, a = setup(tmp)
    try:
        ident = ("SELECT key, value FROM meta WHERE key IN ('device_id', 'device_cert', "
                 "'seq_high', 'command_key', 'ca_cert', 'capabilities', 'ownership') ORDER BY key")
        before = a.sql(ident)
        answers = call(a.sock, "garbage", "[1,2]", '{"verb": 7}', '{"verb": "nope"}',
                       '{"verb": "status", "extra": 1}', '{"verb": "log_level"}',
                       '{"verb": "log_level", "level": "loud"}', '{"verb": "subscribe", '
                       '"events": ["everything"]}', '{"verb": "status", "id": {"x": 1}}',
                       '{"verb": "status", "verb": "status"}', '{"a":' * 10 + '1' + '}' * 10,
                       "", '{"verb": "status", "id": 9}', user="nobody")
        codes = [x.get("error", {}).get("code") for x in answers]
        check(codes == ["bad_request", "bad_request", "bad_request", "unknown_verb",
                        "unknown_field", "bad_field", "bad_field", "bad_field", "bad_field",
                        "bad_request", "bad_request", "bad_request", None], codes)
        check(answers[4]["error"]["message"] == "$.extra: not a field of this verb", answers[4])
        check(answers[-1]["ok"] and answers[-1]["id"] == 9, answers[-1])
        # an announced frame over 64 KiB: answered, then closed (the stream is lost)
        c = raw_client(a.sock)
        c.sendall(struct.pack(">I", 70000) + b"{")
        ans = recv_frame(c)
        check(ans and ans["error"]["code"] == "too_large", ans)
        check(recv_frame(c) is None, "the connection stayed open")
        c.close()
        # a frame just under the limit that is valid JSON but not a request
        big = json.dumps({"verb": "status", "pad": "x" * 60000}).encode()
        c = raw_client(a.sock)
        c.sendall(struct.pack(">I", len(big)) + big)
        ans = recv_frame(c)
        check(ans["error"]["code"] == "unknown_field", ans)
        c.close()
        # clients that leave before their answer: writing it must not kill the daemon
        # (SIGPIPE), however often
        req = json.dumps({"verb": "status"}).encode()
        for _ in range(20):
            c = raw_client(a.sock)
            c.sendall(struct.pack(">I", len(req)) + req)
            c.close()
        time.sleep(0.5)
        check(a.proc.p.poll() is None, "a client that left killed the daemon (%s)"
              % a.proc.p.returncode)
        check(one(a.sock, {"verb": "status"})["ok"], "the daemon stopped answering")
        after = a.sql(ident)
        check(before == after, (before, after))
        check(a.proc.p.poll() is None, "the daemon died")
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_flood(tmp):
    """Hundreds of connections, half-open ones that never finish a frame, and a client that
    subscribes and never reads: the daemon keeps its client bound (64), drops the silent
    ones after its idle limit (30 s), stays small, and answers again once they are gone."""
    s, a = setup(tmp)
    try:
        held = []
        for i in range(200):
            try:
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.settimeout(5)
                c.connect(a.sock)
                c.sendall(b"\x00\x00")  # half a header
                held.append(c)
            except OSError:
                break
        check(len(held) >= 64, "only %d connections" % len(held))
        # past the bound, the daemon closes new ones at once
        time.sleep(0.5)
        closed = 0
        for c in held:
            c.setblocking(False)
            try:
                if c.recv(1) == b"":
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        check(closed >= len(held) - 64, "only %d of %d closed" % (closed, len(held)))
        a.proc.wait_for("ipc: refusing a client: 64 clients connected already")
        check(a.proc.count("ipc: refusing a client") == 1, "the flood flooded the log")
        rss = int([ln.split()[1] for ln in open("/proc/%d/status" % a.proc.p.pid)
                   if ln.startswith("VmRSS:")][0])
        check(rss < 64 * 1024, "RSS %d KiB" % rss)
        # the silent ones go after the idle limit
        t0 = time.time()

        def all_dropped():
            n = 0
            for c in held:
                try:
                    if c.recv(1) == b"":
                        n += 1
                except BlockingIOError:
                    pass
                except OSError:
                    n += 1
            return n == len(held)
        wait_until(all_dropped, 45, interval=1, what="the idle clients dropped")
        check(time.time() - t0 > 20, "dropped before the idle limit")
        for c in held:
            c.close()
        check(one(a.sock, {"verb": "status"}, user="nobody")["ok"], "no answer after the flood")
        check(a.proc.p.poll() is None, "the daemon died")
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_squatted(tmp):
    """Reliability test 23: another user's file at the socket path, a world-writable
    directory, or a live daemon on the name make `ward run` refuse to start, saying why;
    a stale socket of its own is replaced."""
    d = sock_dir(tmp)
    path = os.path.join(d, "ward.sock")
    a = Agent(tmp, config=dict(FAST, ipc_socket=path, root=os.path.join(tmp, "root")))
    with open(path, "w") as f:
        f.write("not ours")
    os.chown(path, 65534, 65534)
    p = run(a.argv("run"), check_rc=1, env=agent_env(), timeout=30)
    check("belongs to uid 65534" in p.stderr and "does not start" in p.stderr, p.stderr)
    check(open(path).read() == "not ours", "the squatter's file was touched")
    os.unlink(path)
    # a socket nobody bound there
    sq = subprocess.Popen(NOBODY + ["/usr/bin/python3", "-c",
                                    "import socket,sys,time\n"
                                    "s=socket.socket(socket.AF_UNIX)\n"
                                    "s.bind(sys.argv[1]); s.listen(1); time.sleep(60)", path])
    try:
        os.chmod(d, 0o777)  # let nobody bind; then: world-writable, not sticky
        wait_until(lambda: os.path.exists(path), 10, what="the squatter's socket")
        p = run(a.argv("run"), check_rc=1, env=agent_env(), timeout=30)
        check("writable by others" in p.stderr, p.stderr)
        os.chmod(d, 0o755)
        p = run(a.argv("run"), check_rc=1, env=agent_env(), timeout=30)
        check("belongs to uid 65534" in p.stderr, p.stderr)
    finally:
        sq.kill()
        sq.wait()
    os.unlink(path)
    # a live daemon on the name: the second one refuses
    a.start(env=agent_env())
    a.proc.wait_for("local IPC on " + path)
    b = Agent(tmp, name="second", config=dict(FAST, ipc_socket=path,
                                              root=os.path.join(tmp, "root")))
    p = run(b.argv("run"), check_rc=1, env=agent_env(), timeout=30)
    check("another daemon already answers on " + path in p.stderr, p.stderr)
    check(one(path, {"verb": "status"})["result"]["daemon"]["pid"] == a.proc.p.pid,
          "the first daemon lost its socket")
    # killed, it leaves a stale socket of its own: the next start replaces it
    a.stop(signal.SIGKILL)
    check(os.path.exists(path), "no stale socket left")
    a.start(env=agent_env())
    a.proc.wait_for("local IPC on " + path)
    check(one(path, {"verb": "status"})["ok"], "the stale socket was not replaced")
    a.stop()
    check(not os.path.exists(path), "the socket outlived a clean stop")


def case_sync_rate_limited(tmp):
    """A user's sync makes the agent check in now; the next one within the interval is
    `rate_limited` with retry_after; root is not limited."""
    s, a = setup(tmp, checkin_interval=3600)
    try:
        wait_until(lambda: a.meta("last_checkin"), 20, what="the first check-in")
        first = a.meta("last_checkin")
        time.sleep(1.1)  # check-in times have a resolution of a second
        ans = one(a.sock, {"verb": "sync"}, user="nobody")
        check(ans["ok"] and ans["result"]["queued"], ans)
        wait_until(lambda: a.meta("last_checkin") != first, 20, what="the sync's check-in")
        ans = one(a.sock, {"verb": "sync"}, user="nobody")
        check(not ans["ok"] and ans["error"]["code"] == "rate_limited" and
              0 < ans["error"]["retry_after"] <= 60, ans)
        p = run(NOBODY + [NB["ward"], "--config", a.config, "--state-dir", a.state, "sync"],
                check_rc=1)
        check("rate_limited" in p.stderr, p.stderr)
        p = run(a.argv("sync"), check_rc=0)
        check("checks in now" in p.stdout, p.stdout)
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_defer_restart(tmp):
    """A reboot with a grace period and one deferral: status shows the countdown; nobody,
    not at the active session, is refused; once nobody's session is the active one it may
    postpone once (due moves by defer_seconds, subscribers hear it), a second time is
    `not_allowed`; restart_now ends the wait and the result says `deferred: 1`."""
    reason = dbusmock_bus.skip_reason()
    if reason:
        print("SKIP:", reason)
        return
    with dbusmock_bus.MockBus("logind", parent_dir=tmp) as lg:
        s, a = setup(tmp, env=lg.env())
        try:
            cid = s.cli_json("command", "send", a.device, "reboot", "--grace", "600",
                             "--deferrals", "1", "--defer-seconds", "120",
                             "--message", "Updates need a restart")["command_id"]

            def notice():
                r = one(a.sock, {"verb": "status"}, user="nobody")["result"]["running"]
                return r[0]["notice"] if r and "notice" in r[0] else None
            wait_until(notice, 20, what="the reboot's countdown")
            n0 = notice()
            check(n0["action"] == "reboot" and n0["deferrals"] == 1 and n0["deferred"] == 0 and
                  n0["message"] == "Updates need a restart", n0)
            # nobody has no session at all: refused
            ans = one(a.sock, {"verb": "defer"}, user="nobody")
            check(not ans["ok"] and ans["error"]["code"] == "denied", ans)
            # an inactive graphical session is not enough
            path = lg.add_session("c1", "seat0", 65534, "nobody", "wayland")
            lg.set_property(path, "org.freedesktop.login1.Session", "Active", False)
            ans = one(a.sock, {"verb": "defer"}, user="nobody")
            check(not ans["ok"] and ans["error"]["code"] == "denied", ans)
            lg.set_property(path, "org.freedesktop.login1.Session", "Active", True)
            sub = subprocess.Popen(NOBODY + ["/usr/bin/python3", NB["client"], a.sock, "--listen",
                                             "3", "15"], stdout=subprocess.PIPE, text=True)
            time.sleep(0.5)
            p = run(NOBODY + [NB["ward"], "--config", a.config, "--state-dir", a.state, "defer"],
                    check_rc=0)
            check("postponed" in p.stdout, p.stdout)
            n1 = notice()
            t0 = time.mktime(time.strptime(n0["due"], "%Y-%m-%dT%H:%M:%SZ"))
            t1 = time.mktime(time.strptime(n1["due"], "%Y-%m-%dT%H:%M:%SZ"))
            check(n1["deferred"] == 1 and 119 <= t1 - t0 <= 121, (n0, n1))
            ans = one(a.sock, {"verb": "defer"}, user="nobody")
            check(not ans["ok"] and ans["error"]["code"] == "not_allowed", ans)
            ans = one(a.sock, {"verb": "restart_now", "command": cid}, user="nobody")
            check(ans["ok"], ans)
            out, _ = sub.communicate(timeout=30)
            frames = [json.loads(x) for x in out.splitlines()]
            check(frames[0]["ok"] and frames[0]["result"]["events"] ==
                  ["compliance", "restart", "command"], frames)
            restarts = [f["data"] for f in frames[1:] if f.get("event") == "restart"]
            check(restarts and restarts[0]["deferred"] == 1 and restarts[0]["command"] == cid,
                  frames)
            wait_until(lambda: "Reboot" in [m for m, _ in lg.get_calls(["Reboot"])], 20,
                       what="logind's Reboot call")
            st = a.sql("SELECT state FROM commands WHERE command_id = ?", (cid,))
            check(st == [("awaiting_reboot",)], st)
            res = json.loads(s.sql("SELECT result FROM commands WHERE command_id = ?",
                                   (cid,))[0][0])
            check(res["output"]["deferred"] == 1 and res["output"]["waited_seconds"] < 60, res)
        except Exception:
            print(a.proc.text()[-3000:] if a.proc else '', file=sys.stderr)
            raise
        finally:
            a.stop(signal.SIGKILL)
            s.stop()


if __name__ == "__main__":
    main({k[5:]: v for k, v in globals().items() if k.startswith("case_")})
