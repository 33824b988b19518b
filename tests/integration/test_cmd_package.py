#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The package and os_update commands for real: ward-server on loopback queues them, the
agent runs inside a throwaway Debian bookworm tree (the cached debootstrap minbase of the
package kind's test, on an overlay in a private mount namespace, chroot'ed so its root "/"
is the tree and never this machine), and apt-get and dpkg really install, remove and
upgrade from Debian's mirror. A .deb built here with dpkg-deb goes through the service's
file store, and selective_wipe removes what the commands installed and nothing else.

Skips (exit 0, with the reason) when not root, without unshare/chroot/overlayfs, when the
tree cannot be built or the mirror cannot be reached.

Usage: test_cmd_package.py CASE"""
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wardlib import Agent, Server, check, final, main, wait_until  # noqa: E402

FAST = {"backoff_base": 1, "backoff_cap": 2, "connect_timeout": 2}
SECURITY_SOURCES = """Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def kind_test():
    """The package kind's chroot test owns the cached tree (ensure_tree, CACHE)."""
    path = os.path.join(HERE, "..", "unit", "enforcement", "test_kind_package_chroot.py")
    spec = importlib.util.spec_from_file_location("kind_package_chroot", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class ChrootAgent(Agent):
    """The agent with its files in TREE/agent, run as /ward inside the chroot."""

    def __init__(self, tree, name="agent"):
        super().__init__(tree, name=name, config=FAST)
        self.tree = tree
        self.name = name

    def argv(self, *args):
        return ["chroot", self.tree, "/ward", "--config", "/%s/agent.json" % self.name,
                "--state-dir", "/%s/state" % self.name] + list(args)


def build_deb(tmp, name="ward-test-pkg"):
    """NAME 1.0: depends on hello, ships a file, its postinst leaves a mark."""
    root = os.path.join(tmp, "debroot-" + name)
    os.makedirs(os.path.join(root, "DEBIAN"))
    os.makedirs(os.path.join(root, "usr/share", name))
    with open(os.path.join(root, "DEBIAN/control"), "w") as f:
        f.write("Package: %s\nVersion: 1.0\nArchitecture: all\n" % name +
                "Maintainer: Ward tests <tests@example.invalid>\nDepends: hello\n"
                "Description: Ward's package command test\n")
    with open(os.path.join(root, "DEBIAN/postinst"), "w") as f:
        f.write("#!/bin/sh\nset -e\necho postinst-ran > /var/tmp/%s-postinst\n" % name)
    os.chmod(os.path.join(root, "DEBIAN/postinst"), 0o755)
    with open(os.path.join(root, "usr/share", name, "hello"), "w") as f:
        f.write("hello from %s\n" % name)
    deb = os.path.join(tmp, "%s_1.0_all.deb" % name)
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", root, deb], check=True,
                   capture_output=True)
    return deb


def changed(out, name):
    return [c for c in out["changes"] if c["name"] == name]


def mount_tree(tmp):
    tree, why = kind_test().mount_tree(tmp, os.environ["WARD_BIN"])
    if tree:
        with open(os.path.join(tree, "etc/apt/sources.list.d/security.sources"), "w") as f:
            f.write(SECURITY_SOURCES)
    return tree, why


def apt_commands(tmp, tree):
    dpkg = kind_test().dpkg_status
    s = Server(tmp).start()
    a = ChrootAgent(tree)
    a.enroll(s.token())
    dev = a.status()["device_id"]
    a.start()
    try:
        wait_until(lambda: a.meta("last_checkin"), 20, what="the first check-in")

        def send(*args):
            cid = s.cli_json("command", "send", dev, *args)["command_id"]
            return final(s, cid, timeout=900)

        # install: apt-get update, then install; hello becomes a managed artifact
        check(dpkg(tree, "hello") in ("unknown", ""), "hello installed already")
        c = send("package", "install", "hello")
        out = c["result"]["output"]
        if c["status"] != "succeeded" and "update" in (c["result"]["error"] or ""):
            print("SKIP: apt-get update could not reach the mirror:", c["result"]["error"])
            return
        check(c["status"] == "succeeded", c["result"])
        check([st["step"] for st in out["steps"]] == ["update", "install"], out["steps"])
        h = changed(out, "hello")
        check(len(h) == 1 and h[0]["before"] is None and h[0]["after"].startswith("2.10"), h)
        check(out["managed_added"] == ["hello"], out)
        check(dpkg(tree, "hello").startswith("install ok installed 2.10"), dpkg(tree, "hello"))
        check(a.sql("SELECT name FROM managed_artifacts WHERE kind = 'package'") == [("hello",)],
              a.sql("SELECT * FROM managed_artifacts"))

        # remove: no update step; the artifact goes
        c = send("package", "remove", "hello")
        out = c["result"]["output"]
        check(c["status"] == "succeeded", c["result"])
        check([st["step"] for st in out["steps"]] == ["remove"], out["steps"])
        check(changed(out, "hello")[0]["after"] is None, out["changes"])
        check(out["managed_removed"] == ["hello"], out)
        check(not dpkg(tree, "hello").startswith("install ok installed"), dpkg(tree, "hello"))
        check(a.sql("SELECT name FROM managed_artifacts WHERE kind = 'package'") == [], "artifact kept")

        # apt-get's own reason comes back; nothing changed, nothing registered
        c = send("package", "install", "ward-no-such-package")
        check(c["status"] == "failed", c)
        check("Unable to locate package ward-no-such-package" in c["result"]["error"],
              c["result"]["error"])
        check(c["result"]["output"]["changes"] == [], c["result"]["output"]["changes"])
        check(c["result"]["output"]["steps"][-1]["exit_code"] == 100, c["result"]["output"])

        # a .deb through the service's file store: its dependency comes from the mirror but
        # only the package itself becomes an artifact
        c = send("package-file", build_deb(tmp))
        out = c["result"]["output"]
        check(c["status"] == "succeeded", c["result"])
        check([st["step"] for st in out["steps"]] == ["deb-field", "update", "install"],
              out["steps"])
        check(out["package"] == "ward-test-pkg" and out["managed_added"] == ["ward-test-pkg"],
              out)
        check(changed(out, "hello") and changed(out, "ward-test-pkg"), out["changes"])
        check(open(os.path.join(tree, "var/tmp/ward-test-pkg-postinst")).read() == "postinst-ran\n",
              "the postinst did not run")

        # upgrade of an installed package: nothing newer, nothing changes
        c = send("package", "upgrade", "hello")
        check(c["status"] == "succeeded", c["result"])
        check(changed(c["result"]["output"], "hello") == [], c["result"]["output"]["changes"])

        # security updates only: apt sees the security suite alone; the main lists stay
        lists = sorted(os.listdir(os.path.join(tree, "var/lib/apt/lists")))
        c = send("os-update", "--security")
        out = c["result"]["output"]
        check(c["status"] == "succeeded", c["result"])
        check([st["step"] for st in out["steps"]] == ["update", "upgrade-all"], out["steps"])
        check(out["security_only"] is True and "reboot_required" in out, out)
        upd = out["steps"][0]["stdout"]
        check("bookworm-security" in upd and " bookworm InRelease" not in upd, upd)
        after = sorted(os.listdir(os.path.join(tree, "var/lib/apt/lists")))
        check(set(lists) <= set(after), "os_update removed lists: %s" % (set(lists) - set(after)))
        for ch in out["changes"]:
            check(ch["before"] is not None, "a security update installed something new: %s" % ch)
        print("security update: %d packages changed, reboot_required %s %s" % (
            len(out["changes"]), out["reboot_required"], out["reboot_reasons"]))

        # a reboot the update asks for comes only after the service has the result; here no
        # logind answers inside the chroot, so the reboot fails and says so, keeping the report
        open(os.path.join(tree, "run/reboot-required"), "w").close()
        cid = s.cli_json("command", "send", dev, "os-update", "--security", "--reboot")[
            "command_id"]
        c = final(s, cid, timeout=900)
        out = c["result"]["output"] or {}
        check(c["status"] == "failed" and "cannot reboot" in (c["result"]["error"] or ""), c)
        check(out.get("reboot") == "pending" and out.get("reboot_required") is True, out)
        check("/run/reboot-required" in out["reboot_reasons"], out)
        check(a.sql("SELECT state FROM commands WHERE command_id = ?", (cid,)) == [("done",)],
              a.sql("SELECT command_id, state FROM commands"))

        # selective wipe takes away ward-test-pkg, leaves hello (a dependency) alone
        c = send("selective-wipe")
        check(c["status"] == "succeeded", c["result"])
        receipt = json.loads(c["result"]["output"]["receipt"])
        check([(x["kind"], x["name"], x["result"]) for x in receipt["removed"]
               if x["kind"] == "package"] == [("package", "ward-test-pkg", "removed")], receipt)
        check(not dpkg(tree, "ward-test-pkg").startswith("install ok installed"),
              dpkg(tree, "ward-test-pkg"))
        check(dpkg(tree, "hello").startswith("install ok installed"), dpkg(tree, "hello"))
        a.stop(signal.SIGKILL)
        personal(tmp, tree, s, dpkg)
        print("ok: install, remove, failure, package file, upgrade, security update, "
              "selective wipe and a personal device's removals (and a wipe that refuses to take a "
              "user's package) through apt-get in the chroot")
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def personal(tmp, tree, s, dpkg):
    """On a personally owned device Ward removes what it installed, but never a package of
    the user's that apt-get would take along because it depends on Ward's."""
    def chroot(*argv):
        p = subprocess.run(["chroot", tree] + list(argv), capture_output=True, text=True,
                           timeout=600, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        check(p.returncode == 0, "%s: %s" % (argv, p.stderr))

    chroot("/usr/bin/apt-get", "-y", "-q", "remove", "hello")  # the user's own doing
    b = ChrootAgent(tree, name="byod")
    b.enroll(s.token("--ownership", "personal", "--allow", "packages"))
    dev = b.status()["device_id"]
    b.start()
    try:
        wait_until(lambda: b.meta("last_checkin"), 20, what="the personal device's check-in")

        def send(*args):
            return final(s, s.cli_json("command", "send", dev, *args)["command_id"], timeout=900)

        c = send("package", "install", "hello")
        check(c["status"] == "succeeded" and c["result"]["output"]["managed_added"] == ["hello"],
              c["result"])
        # the user installs a package of their own that needs hello
        deb = build_deb(tmp, "user-tool")
        shutil.copy(deb, os.path.join(tree, "user-tool.deb"))
        chroot("/usr/bin/dpkg", "-i", "/user-tool.deb")
        c = send("package", "remove", "hello")
        check(c["status"] == "denied", c)
        check("also take 1 package the organisation did not install (user-tool)" in
              c["result"]["error"], c["result"]["error"])
        check([st["step"] for st in c["result"]["output"]["steps"]] == ["simulate"],
              c["result"]["output"]["steps"])
        check(dpkg(tree, "hello").startswith("install ok installed"), dpkg(tree, "hello"))
        check(dpkg(tree, "user-tool").startswith("install ok installed"), dpkg(tree, "user-tool"))
        # nor does a selective wipe take it: hello stays, the device stays enrolled
        c = send("selective-wipe")
        check(c["status"] == "failed" and "could not be removed" in c["result"]["error"], c)
        items = {(x["kind"], x["name"]): x for x in
                 json.loads(c["result"]["output"]["receipt"])["removed"]}
        hello = items.get(("package", "hello"), {})
        check(hello.get("result") == "failed" and
              "would also take 1 package Ward did not install (user-tool)" in hello.get("error"),
              items)
        check(dpkg(tree, "hello").startswith("install ok installed"), dpkg(tree, "hello"))
        check(dpkg(tree, "user-tool").startswith("install ok installed"), dpkg(tree, "user-tool"))
        check(b.status().get("device_id") == dev, b.status())
        # once the user's package is gone, Ward's may go
        chroot("/usr/bin/dpkg", "-r", "user-tool")
        c = send("package", "remove", "hello")
        check(c["status"] == "succeeded", c["result"])
        check([st["step"] for st in c["result"]["output"]["steps"]] == ["simulate", "remove"],
              c["result"]["output"]["steps"])
        check(c["result"]["output"]["managed_removed"] == ["hello"], c["result"]["output"])
    finally:
        b.stop(signal.SIGKILL)


def case_apt_commands(tmp):
    if len(sys.argv) > 2 and sys.argv[2] == "inner":
        tree, why = mount_tree(tmp)
        if not tree:
            print("SKIP:", why)
            return
        apt_commands(tmp, tree)
        return
    if os.geteuid() != 0:
        print("SKIP: needs root (unshare -m, mount, chroot)")
        return
    if not shutil.which("unshare") or not shutil.which("chroot") or not shutil.which("dpkg-deb"):
        print("SKIP: unshare, chroot or dpkg-deb missing")
        return
    kt = kind_test()
    kt.ensure_tree()
    p = subprocess.run(["unshare", "-m", "/usr/bin/python3", os.path.abspath(__file__),
                        "apt_commands", "inner"], timeout=1800)
    check(p.returncode == 0, "the inner run failed (%d)" % p.returncode)


if __name__ == "__main__":
    main({"apt_commands": case_apt_commands})
