#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`ward service install|status|uninstall` and `ward run --service` under wine's service
control manager, judged by wine's own `sc` and `reg query`: the service is registered
(automatic start, the command line with `run --service`, its description), its state
directory made SYSTEM+Administrators only (as wineserver stored it), starts and
reports RUNNING from the daemon's readiness, answers `sc stop` by stopping the daemon
(its log says so) and `sc start` by running again; a second install is refused, uninstall
removes it (`sc query` then fails), and `ward run --service` from a console says it was not
started by the service manager. scripts/test-windows provides WINEPREFIX with a persistent
wineserver (services would otherwise die with the last wine process).

What wine does not implement is not asserted: ChangeServiceConfig2 for the non-crash
failure flag and delayed start answers ERROR_CALL_NOT_IMPLEMENTED (124) there, and wine
stores no FailureActions value; ward logs a warning for each and the service still works.
Usage: test_service.py WARD_EXE"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from winlib import check, check_private_sd, wait_until, wine, winpath  # noqa: E402

WARD = sys.argv[1]


def main():
    if not os.environ.get("WINEPREFIX") or not shutil.which("wine"):
        print("SKIP: needs wine and the WINEPREFIX scripts/test-windows sets up")
        return
    tmp = tempfile.mkdtemp(prefix="ward-winsvc-")
    cfg, state, logf = (os.path.join(tmp, n) for n in ("agent.json", "state", "ward.log"))
    with open(cfg, "w") as f:
        json.dump({"log_sink": "file", "log_file": winpath(logf)}, f)
    exe = WARD
    base = [exe, "--config", winpath(cfg), "--state-dir", winpath(state)]

    def status():
        p = wine(exe, "service", "status", "--json", rc=0)
        return json.loads(p.stdout)

    def log_text():
        try:
            return open(logf).read()
        except OSError:
            return ""

    wine(exe, "service", "uninstall")  # a leftover of an aborted run
    try:
        p = wine(*base, "service", "install", rc=0)
        check("registered the service ward" in p.stdout, p.stdout)
        check_private_sd(state)  # made SYSTEM+Administrators only before registering
        wait_until(lambda: status()["sub"] == "running" and "running, state in" in log_text(),
                   60, "the service running (RUNNING reported by the daemon)")
        st = status()
        check(st["installed"] and st["manager"] and st["enabled"] == "auto" and
              st["main_pid"] > 0, st)
        check(st["path"].endswith('"run" "--service"') and winpath(cfg) in st["path"], st)
        q = wine("sc", "query", "ward", rc=0).stdout
        check("RUNNING" in q, q)
        reg = wine("reg", "query", r"HKLM\System\CurrentControlSet\Services\ward", rc=0).stdout
        check("Start    REG_DWORD    0x2" in reg, "not automatic start:\n" + reg)
        check('"run" "--service"' in reg and "Ward device management agent" in reg, reg)

        wine("sc", "stop", "ward", rc=0)
        wait_until(lambda: status()["sub"] == "stopped", 60, "the service stopped")
        check("stopping (stop requested by the service manager)" in log_text(), log_text())
        check(log_text().rstrip().endswith("stopped"), log_text()[-300:])
        wine("sc", "start", "ward", rc=0)
        wait_until(lambda: status()["sub"] == "running", 60, "the service running again")

        p = wine(*base, "service", "install", rc=1)
        check("exists already" in p.stderr, p.stderr)
        p = wine(exe, "run", "--service", rc=1, timeout=60)
        check("not started by the service control manager" in p.stderr, p.stderr)
    finally:
        p = wine(exe, "service", "uninstall")
    check(p.returncode == 0 and "removed the service ward" in p.stdout, p.stdout + p.stderr)
    check(wine("sc", "query", "ward").returncode != 0, "sc query still finds the service")
    check(not status()["installed"], "status still says installed")
    shutil.rmtree(tmp, ignore_errors=True)
    print("ok: registered, running, stopped and started by sc, refused twice, removed")


if __name__ == "__main__":
    main()
