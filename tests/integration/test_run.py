#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Integration tests for the `ward` binary as a process: global options, `config check`,
and `ward run` start-up, SIGHUP reload (good and bad config), idle CPU, and a clean stop on
SIGTERM/SIGINT. Usage: test_run.py WARD_BINARY CASE"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

WARD = sys.argv[1]


class Daemon:
    """A `ward run` child whose stderr lines are collected by a reader thread."""

    def __init__(self, args):
        self.lines = []
        self.cv = threading.Condition()
        self.p = subprocess.Popen([WARD] + args + ["run"], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stderr:
            with self.cv:
                self.lines.append(line.rstrip("\n"))
                self.cv.notify_all()

    def wait_for(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    raise AssertionError("no line containing %r; got:\n%s"
                                         % (text, "\n".join(self.lines)))
                self.cv.wait(min(left, 0.2))

    def stop(self, sig=signal.SIGTERM, timeout=10):
        self.p.send_signal(sig)
        rc = self.p.wait(timeout)
        self.t.join(5)
        return rc


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def run(args, **kw):
    return subprocess.run([WARD] + args, capture_output=True, text=True, timeout=30, **kw)


def case_version(tmp):
    r = run(["version", "--json"])
    check(r.returncode == 0, r.stderr)
    v = json.loads(r.stdout)
    check(v["version"] and v["libraries"]["openssl"], r.stdout)
    r = run(["version", "--bogus"])
    check(r.returncode == 2 and "unknown argument" in r.stderr, r.stderr)


def case_usage(tmp):
    r = run([])
    check(r.returncode == 2 and "usage:" in r.stderr, r.stderr)
    r = run(["frobnicate"])
    check(r.returncode == 2 and "unknown command 'frobnicate'" in r.stderr, r.stderr)
    r = run(["--state-dir"])
    check(r.returncode == 2 and "needs a value" in r.stderr, r.stderr)
    r = run(["--nope", "version"])
    check(r.returncode == 2 and "unknown option" in r.stderr, r.stderr)


def case_config_check(tmp):
    good = os.path.join(tmp, "good.json")
    write(good, '{"log_level": "debug", "checkin_interval": 600}')
    r = run(["config", "check", good])
    check(r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr)
    bad = os.path.join(tmp, "bad.json")
    write(bad, '{"log_level": "loud", "checkin_interval": "soon", "colour": 1}')
    r = run(["config", "check", bad])
    check(r.returncode == 1, "bad config accepted")
    errs = r.stderr.strip().splitlines()
    check(len(errs) == 3, "want one line per problem, got:\n" + r.stderr)
    check(any("$.log_level" in e for e in errs), r.stderr)
    check(any("$.checkin_interval" in e for e in errs), r.stderr)
    check(any("$.colour" in e and "unknown" in e for e in errs), r.stderr)
    syntax = os.path.join(tmp, "syntax.json")
    write(syntax, '{"log_level": "debug",\n "checkin_interval": }')
    r = run(["config", "check", syntax])
    check(r.returncode == 1 and "2:" in r.stderr, "syntax error without line: " + r.stderr)
    r = run(["config", "check", os.path.join(tmp, "missing.json")])
    check(r.returncode == 1 and "not found" in r.stderr, r.stderr)
    r = run(["--config", os.path.join(tmp, "missing.json"), "run"])
    check(r.returncode == 1, "explicit missing --config must fail")


def case_run_stop(tmp):
    state = os.path.join(tmp, "state")
    d = Daemon(["--state-dir", state, "--config", os.path.join(tmp, "none.json")])
    # An explicit config that does not exist is an error, not a silent default.
    rc = d.p.wait(10)
    check(rc == 1, "run with a missing explicit config exited %d" % rc)
    cfg = os.path.join(tmp, "agent.json")
    write(cfg, '{"log_level": "info"}')
    for sig in (signal.SIGTERM, signal.SIGINT):
        d = Daemon(["--state-dir", state, "--config", cfg])
        d.wait_for("running")
        check(os.path.exists(os.path.join(state, "state.db")), "no state.db")
        check(oct(os.stat(state).st_mode & 0o777) == "0o700", "state dir not private")
        rc = d.stop(sig)
        check(rc == 0, "exit %d after %s:\n%s" % (rc, sig, "\n".join(d.lines)))
        d.wait_for("stopped")
        check(not any("open handles" in l for l in d.lines), "\n".join(d.lines))


def case_run_reload(tmp):
    state = os.path.join(tmp, "state")
    cfg = os.path.join(tmp, "agent.json")
    write(cfg, '{"log_level": "info"}')
    d = Daemon(["--state-dir", state, "--config", cfg])
    d.wait_for("running")
    write(cfg, '{"log_level": "debug"}')
    d.p.send_signal(signal.SIGHUP)
    d.wait_for("configuration reloaded")
    write(cfg, '{"log_level": 7}')
    d.p.send_signal(signal.SIGHUP)
    line = d.wait_for("reload of")
    check("$.log_level" in line and "keeping the running config" in line, line)
    check(d.p.poll() is None, "daemon died on a bad reload")
    rc = d.stop()
    check(rc == 0, "exit %d" % rc)


def case_log_file_sink(tmp):
    """log_sink "file": lines go to log_file; after a rotation (rename) SIGHUP reopens it;
    a sink without its file is refused by config validation or reported, never silent."""
    state = os.path.join(tmp, "state")
    log = os.path.join(tmp, "ward.log")
    cfg = os.path.join(tmp, "agent.json")
    write(cfg, json.dumps({"log_sink": "file", "log_file": log}))
    p = subprocess.Popen([WARD, "--state-dir", state, "--config", cfg, "run"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if os.path.exists(log) and "running" in open(log).read():
            break
        time.sleep(0.05)
    check(os.path.exists(log) and "running" in open(log).read(), "no 'running' line in the file")
    os.rename(log, log + ".1")
    p.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if os.path.exists(log) and "configuration reloaded" in open(log).read():
            break
        time.sleep(0.05)
    check(os.path.exists(log) and "configuration reloaded" in open(log).read(),
          "the log file was not reopened after rotation")
    p.send_signal(signal.SIGTERM)
    rc = p.wait(10)
    err = p.stderr.read()
    check(rc == 0, "exit %d: %s" % (rc, err))
    check("stopped" in open(log).read(), "no 'stopped' line in the reopened file")
    check("running" not in err, "lines went to stderr too: " + err)


def case_run_idle_cpu(tmp):
    state = os.path.join(tmp, "state")
    d = Daemon(["--state-dir", state])
    d.wait_for("running")
    def ticks():
        with open("/proc/%d/stat" % d.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    before = ticks()
    time.sleep(3)
    used = ticks() - before
    rc = d.stop()
    check(used <= 1, "idle agent used %d clock ticks in 3 s" % used)
    check(rc == 0, "exit %d" % rc)


def case_run_valgrind(tmp):
    vg = "/usr/bin/valgrind"
    if not os.path.exists(vg):
        raise AssertionError("valgrind missing: scripts/install-deps installs it")
    state = os.path.join(tmp, "state")
    lines = []
    p = subprocess.Popen([vg, "--leak-check=full", "--show-leak-kinds=definite,indirect",
                          "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
                          WARD, "--state-dir", state, "run"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    for line in p.stderr:
        lines.append(line)
        if "running" in line or time.monotonic() > deadline:
            break
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    lines.append(err)
    text = "".join(lines)
    check(p.returncode == 0, "valgrind exit %d:\n%s" % (p.returncode, text))
    check("definitely lost: 0" in text or "no leaks are possible" in text, text)


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}

if __name__ == "__main__":
    name = sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="ward-it-") as tmp:
        CASES[name](tmp)
    print("ok", name)
