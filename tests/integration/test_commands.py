#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Device commands end to end: ward-server queues them (`command send`), the running agent
gets them over mutual TLS, the job runner runs the real handlers as real child processes,
and the results come back. Scripts only echo and sleep in the agent's own job directory;
nothing here touches the machine's configuration."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import dbusmock_bus  # noqa: E402
from wardlib import (Agent, Fail, Proc, Server, TcpProxy, check, command, final,  # noqa: E402
                     main, make_token, token_fields, wait_until)

FAST = {"backoff_base": 1, "backoff_cap": 2, "connect_timeout": 2}




def setup(tmp):
    s = Server(tmp).start()
    a = Agent(tmp, config=FAST)
    a.enroll(s.token())
    dev = a.status()["device_id"]
    a.start()
    wait_until(lambda: a.meta("last_checkin"), 10, what="the first check-in")
    return s, a, dev


def script(tmp, name, text):
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def jobs_dir(a):
    d = os.path.join(a.state, "jobs")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def case_script_inline(tmp):
    """A small script goes inline; it runs with its arguments verbatim (no shell expansion)
    and the command id in its environment; stdout, stderr and the exit code come back."""
    s, a, dev = setup(tmp)
    try:
        p = script(tmp, "hello.sh", 'echo "hello $1"; echo "id=$WARD_COMMAND_ID"; '
                                    'echo oops >&2; exit 3\n')
        cid = s.cli_json("command", "send", dev, "script", p, "--arg", "$(world) *")["command_id"]
        c = final(s, cid)
        out = c["result"]["output"]
        check(c["status"] == "failed", c)  # a non-zero exit is a failed command
        check(out["exit_code"] == 3, out)
        check("hello $(world) *\n" in out["stdout"], out)
        check("id=%s\n" % cid in out["stdout"], out)
        check(out["stderr"] == "oops\n", out)
        check(jobs_dir(a) == [], "job directory left behind: %s" % jobs_dir(a))
        check(a.sql("SELECT state FROM commands WHERE command_id = ?", (cid,)) == [("done",)],
              a.sql("SELECT * FROM commands"))
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_script_file_downloaded(tmp):
    """A script over 256 KiB is sent by hash and length: the agent downloads it over the
    same mutual TLS, checks both, runs it, and removes it."""
    s, a, dev = setup(tmp)
    try:
        body = "#" * (300 * 1024) + "\necho big-script-ran\n"
        p = script(tmp, "big.sh", body)
        c0 = command(s, s.cli_json("command", "send", dev, "script", p)["command_id"])
        check("file" in c0["params"] and "script" not in c0["params"], c0["params"])
        c = final(s, c0["command_id"])
        check(c["status"] == "succeeded", c)
        check(c["result"]["output"]["stdout"] == "big-script-ran\n", c["result"])
        check(jobs_dir(a) == [], "job directory left behind: %s" % jobs_dir(a))
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_script_file_tampered(tmp):
    """The stored file changes after the command was signed (same length, other bytes):
    the agent refuses to run it, says why, and keeps nothing of it."""
    s, a, dev = setup(tmp)
    try:
        a.stop()
        body = "#" * (300 * 1024) + "\necho should-not-run\n"
        p = script(tmp, "big.sh", body)
        c0 = command(s, s.cli_json("command", "send", dev, "script", p)["command_id"])
        sha = c0["params"]["file"]["sha256"]
        stored = os.path.join(s.dir, "files", sha)
        with open(stored, "r+b") as f:
            f.seek(10)
            f.write(b"X")
        a.start()
        c = final(s, c0["command_id"])
        check(c["status"] == "failed", c)
        err = c["result"]["error"] or ""
        check("SHA-256" in err or "sha256" in err.lower(), c["result"])
        check("should-not-run" not in a.proc.text(), "the tampered script ran")
        check(jobs_dir(a) == [], "download left behind: %s" % jobs_dir(a))
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


BIG = "#" * (300 * 1024) + "\necho %s\n"


def queue_big_script(tmp, s, dev, word):
    """A script sent as a file (too big to go inline) that prints word when it runs; the
    command and the path of the service's stored copy."""
    p = script(tmp, word + ".sh", BIG % word)
    c = command(s, s.cli_json("command", "send", dev, "script", p)["command_id"])
    return c, os.path.join(s.dir, "files", c["params"]["file"]["sha256"])


def refused_download(s, a, cid, words, what):
    c = final(s, cid, 60)
    check(c["status"] == "failed", c)
    err = c["result"]["error"] or ""
    check(words in err, "%s: %r lacks %r" % (what, err, words))
    check(jobs_dir(a) == [], "%s: download left behind: %s" % (what, jobs_dir(a)))
    return err


def case_download_failures(tmp):
    """A stored file longer than the command signed (the agent stops at the signed length)
    and one shorter (the service sends fewer bytes): nothing runs, no staging file stays."""
    s, a, dev = setup(tmp)
    try:
        a.stop()
        # The service's own record changes with the file (ward-server checks its copy against
        # it), as on a compromised or broken service.
        longer, path = queue_big_script(tmp, s, dev, "longer-ran")
        with open(path, "ab") as f:
            f.write(b"\necho appended\n" * 4096)
        s.sql("UPDATE files SET length = ? WHERE sha256 = ?",
              (os.path.getsize(path), longer["params"]["file"]["sha256"]))
        shorter, path2 = queue_big_script(tmp, s, dev, "shorter-ran")
        with open(path2, "r+b") as f:
            f.truncate(100 * 1024)
        s.sql("UPDATE files SET length = ? WHERE sha256 = ?",
              (100 * 1024, shorter["params"]["file"]["sha256"]))
        a.start()
        refused_download(s, a, longer["command_id"], "offered more than the 307217 bytes",
                         "longer than signed")
        refused_download(s, a, shorter["command_id"], "the command signed", "truncated")
        text = a.proc.text()
        check("longer-ran" not in text and "shorter-ran" not in text, "a refused script ran")
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def relayed(tmp, s, **cfg):
    """An agent that reaches the service through a TcpProxy (TLS end to end)."""
    proxy = TcpProxy(s.port)
    a = Agent(tmp, config=dict(FAST, **cfg))
    f = token_fields(s.token())
    f["url"] = proxy.url
    a.enroll(make_token(f))
    return proxy, a, a.status()["device_id"]


def case_download_trickle(tmp):
    """The service's answer trickles at 1 byte/s: the agent cuts the transfer off after its
    stall timeout and fails the command (no script runs); at normal speed again the result
    goes through."""
    s = Server(tmp).start()
    proxy, a, dev = relayed(tmp, s, stall_timeout=2)
    try:
        c, _ = queue_big_script(tmp, s, dev, "trickled-ran")
        a.start()
        a.proc.wait_for("running command " + c["command_id"], 20)
        proxy.trickle = 1
        t0 = time.monotonic()
        a.proc.wait_for("download failed", 60)
        check(time.monotonic() - t0 < 30, "the stalled download was not cut off in time")
        proxy.trickle = 0
        refused_download(s, a, c["command_id"], "download failed", "trickle")
        check("trickled-ran" not in a.proc.text(), "a script from a stalled download ran")
    finally:
        a.stop(signal.SIGKILL)
        proxy.close()
        s.stop()


def case_download_resumed(tmp):
    """The connection dies 150 KB into a 300 KB download: the agent resumes with Range from
    where it was, checks length and SHA-256 of the whole, and runs the script once."""
    s = Server(tmp).start()
    proxy, a, dev = relayed(tmp, s)
    try:
        a.start()
        wait_until(lambda: a.meta("last_checkin"), 10, what="the first check-in")
        proxy.cut_after = 150 * 1024
        c, _ = queue_big_script(tmp, s, dev, "resumed-ran")
        r = final(s, c["command_id"], 30)
        check(r["status"] == "succeeded", r)
        check(r["result"]["output"]["stdout"] == "resumed-ran\n", r["result"])
        line = a.proc.matching("resuming")
        check(len(line) == 1 and "interrupted after" in line[0][1], a.proc.text())
    finally:
        a.stop(signal.SIGKILL)
        proxy.close()
        s.stop()


def case_download_disk_full(tmp):
    """The job directory is on a 128 KiB tmpfs (in a private mount namespace, so only the
    agent sees it) and the script is 300 KiB: the write fails with no space left, the
    partial file is deleted and the result still reaches the service."""
    s, a, dev = setup(tmp)
    try:
        a.stop()
        c, _ = queue_big_script(tmp, s, dev, "full-ran")
        jobs = os.path.join(a.state, "jobs")
        os.makedirs(jobs, mode=0o700, exist_ok=True)
        inner = "mount -t tmpfs -o size=128k,mode=0700 ward-test-full %s && exec %s" % (
            jobs, " ".join("'%s'" % x for x in a.argv("run")))
        a.proc = Proc(["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", inner])
        a.proc.wait_for("running")
        err = refused_download(s, a, c["command_id"], "no space left", "disk full")
        check("full-ran" not in a.proc.text(), "a partly written script ran")
        # The tmpfs was the agent's alone: here the directory is the ordinary one.
        check(os.listdir(jobs) == [], os.listdir(jobs))
        del err
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_long_script_does_not_block_quick(tmp):
    """A running script has a lane of its own: a ping sent after it answers first."""
    s, a, dev = setup(tmp)
    try:
        p = script(tmp, "slow.sh", "sleep 4; echo done\n")
        slow = s.cli_json("command", "send", dev, "script", p)["command_id"]
        a.proc.wait_for("running command " + slow, 10)
        ping = s.cli_json("command", "send", dev, "ping")["command_id"]
        c = final(s, ping, 10)
        check(c["status"] == "succeeded", c)
        check(command(s, slow)["status"] in ("delivered", "accepted", "running"),
              command(s, slow))
        c = final(s, slow, 20)
        check(c["status"] == "succeeded" and c["result"]["output"]["stdout"] == "done\n", c)
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_kill9_during_script(tmp):
    """kill -9 while a script runs: after the restart it is reported interrupted and never
    started again."""
    s, a, dev = setup(tmp)
    try:
        marker = os.path.join(tmp, "runs")
        p = script(tmp, "once.sh", "echo run >> %s; sleep 30\n" % marker)
        cid = s.cli_json("command", "send", dev, "script", p)["command_id"]
        wait_until(lambda: os.path.exists(marker), 10, what="the script to start")
        a.stop(signal.SIGKILL)
        a.start()
        c = final(s, cid)
        check(c["status"] == "interrupted", c)
        time.sleep(1)
        with open(marker) as f:
            check(f.read() == "run\n", "the script ran again")
        check(a.sql("SELECT state FROM commands WHERE command_id = ?", (cid,)) ==
              [("interrupted",)], a.sql("SELECT * FROM commands"))
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_stop_cancels_script(tmp):
    """SIGTERM to the agent while a script runs: the script is stopped, the agent exits
    cleanly and the result says the command was stopped, once."""
    s, a, dev = setup(tmp)
    try:
        p = script(tmp, "long.sh", "sleep 60\n")
        cid = s.cli_json("command", "send", dev, "script", p)["command_id"]
        a.proc.wait_for("running command " + cid, 10)
        t0 = time.monotonic()
        rc = a.stop()
        check(rc == 0, "ward run exited %s" % rc)
        check(time.monotonic() - t0 < 12, "the stop waited for the script")
        row = a.sql("SELECT state, status FROM commands WHERE command_id = ?", (cid,))
        check(row == [("done", "failed")], row)
        a.start()
        c = final(s, cid)
        check(c["status"] == "failed", c)
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_invalid_params_refused(tmp):
    """Parameters the agent's field table refuses (sent raw with --param, past the server's
    own check) fail with the reason and never run."""
    s, a, dev = setup(tmp)
    try:
        cid = s.cli_json("command", "send", dev, "ping", "--param", "surprise=1")["command_id"]
        c = final(s, cid)
        check(c["status"] == "failed", c)
        check("surprise" in (c["result"]["error"] or ""), c["result"])
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


HOSTILE = ["a;b", "$(id)", "`id`", "x & y", "p|q", "line1\nline2", "-rf", "--", "*", "'\"",
           "> /tmp/ward-pwned"]


def case_script_args_verbatim(tmp):
    """Hostile script arguments (;, $(...), backticks, &, |, a newline, a leading -, quotes,
    a redirection) reach the script verbatim, and the agent starts exactly one process for
    the command: strace, attached to the running agent, counts every execve. A hostile user
    name is refused before anything is queued, and by the agent itself when it arrives raw."""
    import shutil
    import subprocess
    strace = shutil.which("strace")
    if not strace:
        raise Fail("strace is not installed (scripts/install-deps installs it)")
    s, a, dev = setup(tmp)
    trace = os.path.join(tmp, "execve.trace")
    st = None
    try:
        st = subprocess.Popen([strace, "-f", "-qq", "-e", "trace=execve", "-e", "signal=none",
                               "-o", trace, "-p", str(a.proc.p.pid)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(lambda: os.path.exists(trace), 10, what="strace to attach")
        time.sleep(0.5)
        p = script(tmp, "args.sh", 'for a in "$@"; do printf "<%s>\\n" "$a"; done\n')
        argv = []
        for x in HOSTILE:
            argv += ["--arg", x]
        cid = s.cli_json("command", "send", dev, "script", p, *argv)["command_id"]
        c = final(s, cid)
        check(c["status"] == "succeeded", c)
        want = "".join("<%s>\n" % x for x in HOSTILE)
        check(c["result"]["output"]["stdout"] == want, (c["result"]["output"]["stdout"], want))
        st.terminate()
        st.wait(10)
        with open(trace) as f:
            execs = [l for l in f if "execve(" in l and "= 0" in l]
        check(len(execs) == 1 and '"/bin/sh"' in execs[0], "execve calls: %s" % execs)
        check(not os.path.exists("/tmp/ward-pwned"), "a redirection was interpreted")
        for bad in ("root;id", "$(id)", "-root", "a b"):
            r = s.cli("command", "send", dev, "script", p, "--user", bad, rc=1)
            check("params.user" in r.stderr, r.stderr)
        cid = s.cli_json("command", "send", dev, "ping", "--param", "user=x")["command_id"]
        check(final(s, cid)["status"] == "failed", "a raw unknown member ran")
    finally:
        if st and st.poll() is None:
            st.kill()
        a.stop(signal.SIGKILL)
        s.stop()


BOOT_A = "11111111-2222-4333-8444-555555555555"
BOOT_B = "99999999-2222-4333-8444-555555555555"


# python-dbusmock's logind template on a private system bus (dbus-daemon); the agent
# reaches it through WARD_SYSTEM_BUS_ADDRESS, never the machine's own logind
LOGIND_ACTIONS = ("LockSessions", "Reboot", "PowerOff")


def case_lock_and_reboot_across_boot(tmp):
    """lock locks the graphical sessions through logind; reboot says `accepted`, asks logind
    to reboot only after the service acknowledged that, and after the restart on a new boot
    id (a scratch root's /proc/sys/kernel/random/boot_id) reports `succeeded` with both."""
    reason = dbusmock_bus.skip_reason()
    if reason:
        print("SKIP:", reason)
        return
    root = os.path.join(tmp, "root")
    bootf = os.path.join(root, "proc/sys/kernel/random/boot_id")
    os.makedirs(os.path.dirname(bootf))
    with open(bootf, "w") as f:
        f.write(BOOT_A + "\n")
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "etc/hostname"), "w") as f:
        f.write("laptop-1\n")
    with dbusmock_bus.MockBus("logind", parent_dir=tmp) as lg:
        def lg_calls():
            return [m for m, _ in lg.get_calls(LOGIND_ACTIONS)]

        s = Server(tmp).start()
        a = Agent(tmp, config=dict(FAST, root=root))
        env = lg.env()
        try:
            a.enroll(s.token())
            dev = a.status()["device_id"]
            a.start(env=env)
            lg.add_session("c1", "seat0", 1000, "alice", "wayland")
            lg.add_session("c2", "seat0", 1001, "bob", "tty")
            c = final(s, s.cli_json("command", "send", dev, "lock")["command_id"])
            check(c["status"] == "succeeded", c)
            check("LockSessions" in lg_calls(), lg_calls())
            check("alice" in str(c["result"]["output"]) and
                  "bob" not in str(c["result"]["output"]), c["result"])

            cid = s.cli_json("command", "send", dev, "reboot")["command_id"]
            wait_until(lambda: "Reboot" in lg_calls(), 15, what="logind's Reboot call")
            check(a.sql("SELECT state, acked FROM commands WHERE command_id = ?", (cid,)) ==
                  [("awaiting_reboot", 1)], a.sql("SELECT * FROM commands"))
            c = command(s, cid)
            check(c["status"] == "accepted", c)  # the device reported it would reboot
            check(lg_calls().count("Reboot") == 1, lg_calls())
            # The "reboot": the agent goes down, the machine comes back with a new boot id.
            a.stop(signal.SIGKILL)
            with open(bootf, "w") as f:
                f.write(BOOT_B + "\n")
            a.start(env=env)
            c = final(s, cid)
            check(c["status"] == "succeeded", c)
            out = c["result"]["output"]
            check(out.get("boot_id_before") == BOOT_A and out.get("boot_id_after") == BOOT_B,
                  out)
            check(lg_calls().count("Reboot") == 1, "rebooted again: %s" % lg_calls())
            check(a.sql("SELECT state FROM commands WHERE command_id = ?", (cid,)) ==
                  [("done",)], a.sql("SELECT * FROM commands"))
        finally:
            a.stop(signal.SIGKILL)
            s.stop()


if __name__ == "__main__":
    main({k[5:]: v for k, v in globals().items() if k.startswith("case_")})
