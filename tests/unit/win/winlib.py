# SPDX-License-Identifier: Apache-2.0
"""What the Python drivers under tests/unit/win share: running a Windows program under
wine (WINEPREFIX from scripts/test-windows), failing with a message, waiting for a
condition, and Z: paths for host files."""
import subprocess
import sys
import time


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)


def wine(*args, rc=None, timeout=120):
    """wine ARGS; with rc, anything else fails the test with the program's output."""
    p = subprocess.run(["wine"] + list(args), capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if rc is not None:
        check(p.returncode == rc, "wine %s: exit %d (want %d)\n%s%s"
              % (" ".join(args), p.returncode, rc, p.stdout, p.stderr))
    return p


def wait_until(fn, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.5)
    check(False, "timed out waiting for " + what)


def winpath(p):
    return "Z:" + p.replace("/", "\\")
