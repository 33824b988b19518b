#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Integration tests of `ward baseline` as a process, on generated scratch trees (never this
machine's /etc): the shipped baselines/linux-workstation.json evaluates every setting,
apply then check is all KEPT except the settings that need the live system (a package to
remove is refused under --root, with its reason; without /usr/bin/dconf the dconf database
cannot be compiled), a second apply rewrites nothing, removal restores, malformed
documents are refused with their JSON paths and change nothing. Usage: test_baseline.py CASE
(WARD_BIN names the binary)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

WARD = os.environ.get("WARD_BIN", "ward")
SRC = os.path.dirname(os.path.abspath(__file__)) + "/../.."
SHIPPED = SRC + "/baselines/linux-workstation.json"

SSHD = """# Debian 12 default, abridged
Include /etc/ssh/sshd_config.d/*.conf
#PermitRootLogin prohibit-password
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
"""

LOGIN_DEFS = """MAIL_DIR        /var/mail
PASS_MAX_DAYS   99999
PASS_MIN_DAYS   0
PASS_WARN_AGE   7
UMASK           022
ENCRYPT_METHOD SHA512
"""

FSTAB = """# /etc/fstab
UUID=0f4c0a6e / ext4 errors=remount-ro 0 1
tmpfs /tmp tmpfs defaults,size=2G 0 0
"""

DPKG_STATUS = """Package: telnet
Status: install ok installed
Version: 0.17+2.4-2+deb12u1

Package: nis
Status: deinstall ok config-files
Version: 4.3

Package: openssh-server
Status: install ok installed
Version: 1:9.2p1-2+deb12u3
"""


def live_only(doc):
    """Settings that cannot be repaired in a scratch tree, with the reason they give."""
    out = {"pkg-telnet": "package changes run only on the live system"}
    if not shutil.which("dconf", path="/usr/bin"):
        for s in doc["settings"]:
            if s["kind"] == "dconf":
                out[s["id"]] = "needs compiling"
    return out


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def write(root, rel, text, mode=0o644):
    p = os.path.join(root, rel.lstrip("/"))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)
    os.chmod(p, mode)


def make_tree(root):
    """A Debian-like tree with what the shipped baseline touches, mostly non-compliant."""
    write(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    write(root, "/etc/group", "root:x:0:\nshadow:x:42:\n")
    write(root, "/etc/shadow", "root:*:19000:0:99999:7:::\n", 0o644)
    write(root, "/etc/gshadow", "root:*::\n", 0o640)
    write(root, "/etc/crontab", "SHELL=/bin/sh\n", 0o644)
    write(root, "/etc/ssh/sshd_config", SSHD)
    write(root, "/etc/login.defs", LOGIN_DEFS)
    write(root, "/etc/security/limits.conf", "# /etc/security/limits.conf\n")
    write(root, "/etc/issue.net", "Debian GNU/Linux 12\n")
    write(root, "/etc/fstab", FSTAB)
    write(root, "/etc/ufw/ufw.conf", "# /etc/ufw/ufw.conf\nENABLED=no\nLOGLEVEL=low\n")
    write(root, "/var/lib/dpkg/status", DPKG_STATUS)
    # the services are not installed in this tree (no unit files): they comply as such
    with open(SHIPPED) as f:
        doc = json.load(f)
    for s in doc["settings"]:
        if s["kind"] == "sysctl":
            wrong = "0" if s["value"] != "0" else "1"
            write(root, "/proc/sys/" + s["key"].replace(".", "/"), wrong + "\n")
    return doc


def run(*args, expect=0):
    p = subprocess.run([WARD] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == expect, "ward %s: exit %d (wanted %d)\nstdout: %s\nstderr: %s"
          % (" ".join(args), p.returncode, expect, p.stdout[-3000:], p.stderr[-3000:]))
    return p


def baseline(cmd, arg, root, state, json_out=True, expect=0):
    args = ["--state-dir", state, "baseline", cmd, arg, "--root", root]
    if json_out:
        args.append("--json")
    p = run(*args, expect=expect)
    return json.loads(p.stdout) if json_out and p.stdout else p


def snapshot_tree(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            st = os.stat(p)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = (st.st_mtime_ns, st.st_mode, fh.read())
    return out


def case_shipped_apply_check():
    with tempfile.TemporaryDirectory() as tmp:
        root, state = tmp + "/root", tmp + "/state"
        doc = make_tree(root)
        n = len(doc["settings"])
        check(45 <= n <= 70, "the shipped baseline has about 50 settings, not %d" % n)
        for s in doc["settings"]:
            check(s.get("refs"), "%s has no refs" % s["id"])

        before = snapshot_tree(root)
        r = baseline("check", SHIPPED, root, state)
        check(len(r["results"]) == n, "every setting reported")
        for e in r["results"]:
            check(set(e) >= {"id", "result", "expected", "actual", "error"}, e)
            check(e["result"] in ("KEPT", "FAILED"), e)
            if e["result"] == "FAILED":
                check(e["error"] == "not compliant (audit)", "could not evaluate: %s" % e)
        check(r["summary"]["FAILED"] > 40, r["summary"])
        check(snapshot_tree(root) == before, "check changed the tree")
        check(not os.path.exists(state), "check needs no state")

        live = live_only(doc)
        r = baseline("apply", SHIPPED, root, state, expect=3)
        for e in r["results"]:
            if e["id"] in live:
                check(e["result"] == "FAILED" and live[e["id"]] in e["error"], e)
            else:
                check(e["result"] in ("KEPT", "REPAIRED"), e)
        check(r["summary"]["REPAIRED"] > 40, r["summary"])

        r = baseline("check", SHIPPED, root, state, expect=0)
        bad = [e for e in r["results"] if e["result"] != "KEPT" and e["id"] not in live]
        check(not bad, "not KEPT after apply: %s" % bad)
        res = {e["id"]: e for e in r["results"]}
        check(res["pkg-telnet"]["actual"] == "installed 0.17+2.4-2+deb12u1", res["pkg-telnet"])
        check(res["pkg-nis"]["result"] == "KEPT", res["pkg-nis"])  # config-files only
        check(res["svc-rpcbind"]["actual"] == "not installed", res["svc-rpcbind"])

        after = snapshot_tree(root)
        r = baseline("apply", SHIPPED, root, state, expect=3)
        check(r["summary"]["KEPT"] == n - len(live), r["summary"])
        check(snapshot_tree(root) == after, "a second apply rewrote files")

        with open(root + "/etc/ssh/sshd_config") as f:
            sshd = f.read()
        check(sshd.index("PermitRootLogin no") < sshd.index("Include"), sshd)
        check("# X11Forwarding yes" in sshd or "X11Forwarding yes" not in sshd, sshd)
        with open(root + "/proc/sys/net/ipv4/ip_forward") as f:
            check(f.read() == "0\n", "runtime sysctl")
        check(oct(os.stat(root + "/etc/shadow").st_mode & 0o777) == "0o640", "shadow mode")
        with open(root + "/etc/fstab") as f:
            fstab = f.read()
        check("tmpfs /tmp tmpfs defaults,size=2G,nodev,nosuid,noexec 0 0" in fstab, fstab)
        check("tmpfs\t/dev/shm\ttmpfs\tdefaults,nodev,nosuid,noexec\t0\t0" in fstab, fstab)
        with open(root + "/etc/ufw/ufw.conf") as f:
            check("ENABLED=yes" in f.read(), "ufw enabled")
        with open(root + "/etc/security/pwquality.conf") as f:
            check(f.read() == "minlen = 14\nminclass = 4\nretry = 3\n", "pwquality")


def case_remove_restores():
    with tempfile.TemporaryDirectory() as tmp:
        root, state = tmp + "/root", tmp + "/state"
        doc = make_tree(root)
        baseline("apply", SHIPPED, root, state, expect=3)  # pkg-telnet needs the live system
        r = baseline("remove", doc["id"], root, state)
        res = {e["id"]: e["result"] for e in r["results"]}
        check(res["sysctl-net.ipv4.ip_forward"] == "REPAIRED", res)
        check(res["perm-etc-shadow"] == "SKIPPED", res)  # not restore_on_removal
        with open(root + "/proc/sys/net/ipv4/ip_forward") as f:
            check(f.read() == "1\n", "runtime value restored")
        check(not os.path.exists(root + "/etc/sysctl.d/60-ward.conf"), "drop-in removed")
        check(not os.path.exists(root + "/etc/modprobe.d/ward-blacklist.conf"), "modprobe")
        with open(root + "/etc/login.defs") as f:
            check("PASS_MAX_DAYS   99999" in f.read(), "login.defs restored")
        with open(root + "/etc/issue.net") as f:
            check(f.read() == "Debian GNU/Linux 12\n", "banner restored")
        with open(root + "/etc/fstab") as f:
            check(f.read() == FSTAB, "fstab restored")
        with open(root + "/etc/ufw/ufw.conf") as f:
            check("ENABLED=no" in f.read(), "ufw restored")
        check(not os.path.exists(root + "/etc/security/pwquality.conf"), "pwquality removed")
        p = baseline("remove", doc["id"], root, state, json_out=False, expect=1)
        check("nothing journaled" in p.stderr, p.stderr)


def case_malformed_refused():
    with tempfile.TemporaryDirectory() as tmp:
        root, state = tmp + "/root", tmp + "/state"
        make_tree(root)
        before = snapshot_tree(root)
        bad = tmp + "/bad.json"
        with open(bad, "w") as f:
            json.dump({"id": "bad", "version": 1, "mode": "enforce", "settings": [
                {"id": "a", "kind": "line", "path": "/etc/motd", "line": "x"},
                {"id": "b", "kind": "servce", "name": "ssh"},
                {"id": "a", "kind": "file", "path": "/etc/x", "mode": 644}]}, f)
        p = baseline("apply", bad, root, state, json_out=False, expect=1)
        lines = p.stderr.strip().splitlines()
        check(any("$.settings[1].kind: unknown kind \"servce\"" in l for l in lines), p.stderr)
        check(any("$.settings[2].id: duplicate setting id" in l for l in lines), p.stderr)
        check(any("$.settings[2].mode: must be an octal string" in l for l in lines), p.stderr)
        check(len(lines) == 3, "one line per problem: %s" % p.stderr)
        check(p.stdout == "", "nothing reported as applied")
        check(snapshot_tree(root) == before, "a malformed document changed the tree")
        with open(bad, "w") as f:
            f.write('{"id": "x", "version": 1, "settings": [')
        p = baseline("check", bad, root, state, json_out=False, expect=1)
        check(len(p.stderr.strip().splitlines()) == 1 and "line 1" in p.stderr, p.stderr)


def case_table_and_usage():
    with tempfile.TemporaryDirectory() as tmp:
        root, state = tmp + "/root", tmp + "/state"
        make_tree(root)
        p = baseline("check", SHIPPED, root, state, json_out=False)
        check("RESULT" in p.stdout and "settings:" in p.stdout, p.stdout)
        check("PermitRootLogin no" in p.stdout, p.stdout)
        run("baseline", expect=2)
        run("baseline", "frob", SHIPPED, expect=2)
        run("baseline", "check", SHIPPED, "--bogus", expect=2)
        p = run("baseline", "schema")
        check("### Kind `sysctl`" in p.stdout, p.stdout[:200])
        # a setting that cannot be evaluated: exit 3, the reason in the output
        doc = tmp + "/missing.json"
        with open(doc, "w") as f:
            json.dump({"id": "m", "version": 1, "settings": [
                {"id": "k", "kind": "sysctl", "key": "net.nosuch", "value": 1}]}, f)
        r = baseline("check", doc, root, state, json_out=True, expect=3)
        check("this kernel has no net.nosuch" in r["results"][0]["error"], r)


CASES = {
    "shipped_apply_check": case_shipped_apply_check,
    "remove_restores": case_remove_restores,
    "malformed_refused": case_malformed_refused,
    "table_and_usage": case_table_and_usage,
}

if __name__ == "__main__":
    CASES[sys.argv[1]]()
    print("ok", sys.argv[1])
