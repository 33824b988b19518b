#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The state directory's ACL, made by `ward.exe` under wine and judged from outside both
Ward and wine's Win32 API: wineserver keeps a file's security descriptor in the xattr
"user.wine.sd" of the Unix file, which winlib.wine_sd parses.

- A directory made beforehand as a plain Unix directory (mode 0755, no xattr: wine answers
  every query with a descriptor made from the mode, which grants Everyone read access) is
  repaired by the first `ward status`: owner Administrators, protected DACL of SYSTEM and
  Administrators full control (OI|CI), and the agent warns that it did so; state.db, created
  after, inherits exactly those two ACEs. A second run leaves it alone (no warning).
- A directory `ward` creates itself gets the same descriptor at creation.
- wine's own `icacls` and `cacls` are asked too; wine 8 ships both as stubs that print
  nothing, which the test reports, and the day one of them prints the ACL the test checks
  it names SYSTEM and Administrators and not Everyone.
Usage: test_statedir_acl.py WARD_EXE"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from winlib import (EVERYONE, INHERITED_ACE, check, check_private_sd, wine, wine_sd,  # noqa: E402
                    winpath)

WARD = sys.argv[1]


def show_acl_with_wine_tools(path):
    """What wine's icacls/cacls say about path; checked only when they say anything."""
    for tool in ("icacls", "cacls"):
        p = wine(tool, winpath(path))
        out = (p.stdout or "").strip()
        if not out:
            print("note: wine's %s printed nothing (exit %d): a stub in this wine"
                  % (tool, p.returncode))
            continue
        print("%s: %s" % (tool, out))
        check("SYSTEM" in out and "Administrators" in out and "Everyone" not in out,
              "%s shows another ACL:\n%s" % (tool, out))


def main():
    if not os.environ.get("WINEPREFIX") or not shutil.which("wine"):
        print("SKIP: needs wine and the WINEPREFIX scripts/test-windows sets up")
        return
    tmp = tempfile.mkdtemp(prefix="ward-acl-")
    cfg = os.path.join(tmp, "agent.json")
    with open(cfg, "w") as f:
        json.dump({}, f)

    def status(state):
        return wine(WARD, "--config", winpath(cfg), "--state-dir", winpath(state), "status",
                    rc=0)

    try:
        # made beforehand, as an MSI or a user would: wine derives a broad ACL from the mode
        pre = os.path.join(tmp, "pre")
        os.mkdir(pre, 0o755)
        os.chmod(pre, 0o755)
        check(wine_sd(pre) is None, "a new Unix directory already has user.wine.sd")
        p = status(pre)
        kept = check_private_sd(pre) is not None
        check("state directory:" in p.stderr and "now owned by Administrators" in p.stderr,
              "no repair warning:\n" + p.stderr)
        db = os.path.join(pre, "state.db")
        check(os.path.isfile(db), "no state.db in " + pre)
        check_private_sd(db, INHERITED_ACE, "state.db")
        print("unix mode after: %s %o, state.db %o" % (pre, os.stat(pre).st_mode & 0o7777,
                                                      os.stat(db).st_mode & 0o7777))
        p = status(pre)
        if kept:
            check("state directory:" not in p.stderr,
                  "a private directory was repaired again:\n" + p.stderr)

        # made by ward itself, parents too
        fresh = os.path.join(tmp, "a", "b", "state")
        status(fresh)
        sd = check_private_sd(fresh)
        check(sd is None or all(a[3] != EVERYONE for a in sd["dacl"]), sd)
        check_private_sd(os.path.join(fresh, "state.db"), INHERITED_ACE, "state.db")
        show_acl_with_wine_tools(fresh)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not kept:
        print("SKIP: ward ran on a broad and on a new state directory, but this wineserver "
              "keeps no file security descriptors (no user.wine.sd xattr), so the ACL "
              "could not be judged")
        return
    print("ok: a broad state directory repaired, a new one created SYSTEM+Administrators only, "
          "state.db inherits both ACEs")


if __name__ == "__main__":
    main()
