#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The local IPC on Windows (platform/src/win/ipc_os.c) under wine: `ward run` serves its
named pipe, `ward status` gets the live answer through it (the daemon's pid), a request
the daemon refuses comes back as a typed error, and a second daemon configured for the
same pipe name fails to start, saying the name is taken, while the first keeps answering.
Wine does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE (a second server instance is created);
what refuses here is the listener's probe for a server already on the name, which Windows
backs with the flag. Usage: test_ipc_pipe.py WARD_EXE"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from winlib import check, wait_until, wine, winpath  # noqa: E402

WARD = sys.argv[1]


def main():
    if not os.environ.get("WINEPREFIX") or not shutil.which("wine"):
        print("SKIP: needs wine and the WINEPREFIX scripts/test-windows sets up")
        return
    tmp = tempfile.mkdtemp(prefix="ward-winipc-")
    pipe = "\\\\.\\pipe\\ward-test-%d" % os.getpid()

    def agent(name):
        cfg = os.path.join(tmp, name + ".json")
        logf = os.path.join(tmp, name + ".log")
        with open(cfg, "w") as f:
            json.dump({"log_sink": "file", "log_file": winpath(logf), "ipc_socket": pipe}, f)
        return [WARD, "--config", winpath(cfg), "--state-dir",
                winpath(os.path.join(tmp, name + "-state"))], logf

    def text(logf):
        try:
            return open(logf).read()
        except OSError:
            return ""

    base, log1 = agent("first")
    d = subprocess.Popen(["wine"] + base + ["run"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: "local IPC on " + pipe in text(log1), 90, "the daemon's pipe")
        p = wine(*base, "status", "--json", rc=0)
        st = json.loads(p.stdout)
        check(isinstance(st.get("daemon"), dict) and st["daemon"]["pid"] > 0 and
              st["you"]["user"].startswith("S-1-"), st)
        p = wine(*base, "sync", rc=1)  # not enrolled: the daemon's typed refusal
        check("not_enrolled" in p.stderr, p.stderr)
        base2, log2 = agent("second")
        p = wine(*base2, "run", rc=1, timeout=90)
        check("exists already" in text(log2) and "does not start" in text(log2),
              text(log2) + p.stderr)
        p = wine(*base, "status", "--json", rc=0)
        check(json.loads(p.stdout)["daemon"]["pid"] == st["daemon"]["pid"],
              "the first daemon stopped answering")
    finally:
        d.kill()
        d.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
