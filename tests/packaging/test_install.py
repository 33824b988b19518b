#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The packages scripts/package built, installed for real without touching this machine:

deb: into the cached Debian bookworm minbase tree (tests/unit/enforcement/
test_kind_package_chroot.py builds it) on an overlay in a private mount namespace, with
the real dpkg and the real maintainer scripts (no systemd runs there, as in an image
build): a preseeded debconf token becomes /etc/ward/enroll.token (0600) and leaves debconf;
the unit is enabled (deb-systemd-helper's symlink), /var/lib/ward is 0700, the binary runs;
an upgrade to a newer version keeps the state and a changed conffile; `dpkg --purge` leaves
nothing behind (the tree's file list equals the one before the install, dpkg's own records
aside). The install hardening gate (issue 10, test 25) on the installed files: state and
binary paths owned by root and not group/world writable, the binary PIE with full RELRO,
the stack protector and _FORTIFY_SOURCE (readelf).

rpm: `rpm --root` into an empty root with its own rpm database (the scriptlets run with
that root's /bin/sh: a copy of this machine's), then `rpm -V` must be clean, and `rpm -e`
removes what it installed.

Skips (exit 0, "SKIP: why") when not root, without the tools, or without the packages.
Usage: test_install.py DIST_DIR [inner TMP]"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "unit", "enforcement"))
import test_kind_package_chroot as chroot_lib  # noqa: E402  (ensure_tree, mount_tree, CACHE)

DIST = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(HERE, "../../dist")
TOKEN = "ward1.preseeded-token-for-the-test"
OWN = ("var/lib/dpkg/", "var/log/", "var/cache/debconf/", "var/cache/ldconfig/",
       "etc/ld.so.cache", "proc/", "tmp/", "run/", "etc/resolv.conf", "ward", "pkgs/")


def skip(why):
    print("SKIP:", why)
    sys.exit(0)


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)


def run(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600, **kw)
    check(p.returncode == 0, "%s: exit %d\n%s%s" % (" ".join(argv), p.returncode, p.stdout,
                                                     p.stderr))
    return p.stdout


def newest(pattern):
    found = sorted(glob.glob(os.path.join(DIST, pattern)), key=os.path.getmtime)
    return found[-1] if found else None


def files_of(tree):
    out = set()
    for d, dirs, files in os.walk(tree):
        for name in dirs + files:
            rel = os.path.relpath(os.path.join(d, name), tree)
            if not any(rel == o.rstrip("/") or rel.startswith(o) for o in OWN):
                out.add(rel)
    return out


def hardening(path):
    """readelf's view of a release binary: PIE, BIND_NOW + RELRO, stack protector and
    fortified calls."""
    hdr = run(["readelf", "-h", path])
    dyn = run(["readelf", "-d", path])
    seg = run(["readelf", "-lW", path])
    syms = run(["readelf", "--dyn-syms", "-W", path])
    check("DYN (Position-Independent Executable" in hdr, "%s is not PIE" % path)
    check("GNU_RELRO" in seg, "%s has no RELRO segment" % path)
    check("BIND_NOW" in dyn or "NOW" in dyn, "%s: RELRO is partial (no BIND_NOW)" % path)
    check("__stack_chk_fail" in syms, "%s: no stack protector" % path)
    check("_chk@" in syms, "%s: no _FORTIFY_SOURCE calls" % path)


def not_writable_by_others(tree, rel):
    st = os.lstat(os.path.join(tree, rel))
    check(st.st_uid == 0, "%s owned by uid %d" % (rel, st.st_uid))
    check(st.st_mode & 0o022 == 0, "%s is group/world writable: %o" % (rel, st.st_mode))


def bump(deb, tmp, version):
    """The same package with a newer version, the way the next release would come."""
    x = os.path.join(tmp, "bump")
    shutil.rmtree(x, ignore_errors=True)
    run(["dpkg-deb", "-R", deb, x])
    ctl = os.path.join(x, "DEBIAN/control")
    text = open(ctl).read()
    old = [l for l in text.splitlines() if l.startswith("Version: ")][0]
    open(ctl, "w").write(text.replace(old, "Version: " + version))
    out = os.path.join(tmp, "ward_%s.deb" % version)
    run(["dpkg-deb", "--root-owner-group", "-b", x, out])
    return out


def inner_deb(tmp, deb):
    tree, why = chroot_lib.mount_tree(tmp, "/bin/true")
    if not tree:
        print("SKIP:", why)
        return
    before = files_of(tree)
    os.makedirs(os.path.join(tree, "pkgs"), exist_ok=True)
    shutil.copy(deb, os.path.join(tree, "pkgs/ward.deb"))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", PATH="/usr/sbin:/usr/bin:/sbin:/bin")
    run(["chroot", tree, "debconf-set-selections"], input="ward ward/enroll_token password %s\n"
        % TOKEN, env=env)
    run(["chroot", tree, "dpkg", "-i", "/pkgs/ward.deb"], env=env)

    tok = os.path.join(tree, "etc/ward/enroll.token")
    check(os.path.isfile(tok), "the preseeded token was not written")
    st = os.stat(tok)
    check(st.st_mode & 0o777 == 0o600 and st.st_uid == 0, "token file mode %o uid %d"
          % (st.st_mode & 0o777, st.st_uid))
    check(open(tok).read().strip() == TOKEN, "token file content")
    sel = run(["chroot", tree, "debconf-show", "ward"], env=env)
    check(TOKEN not in sel, "the token stayed in debconf: %s" % sel)
    check(os.path.islink(os.path.join(tree, "etc/systemd/system/multi-user.target.wants/"
                                            "ward.service")), "ward.service not enabled")
    check(os.stat(os.path.join(tree, "var/lib/ward")).st_mode & 0o777 == 0o700,
          "/var/lib/ward is not 0700")
    ver = run(["chroot", tree, "/usr/bin/ward", "version"])
    check(ver.startswith("ward "), ver)
    check(run(["chroot", tree, "/usr/bin/ward", "config", "check", "/etc/ward/agent.json"]) != "",
          "ward config check printed nothing")
    man = os.path.join(tree, "usr/share/man/man8/ward.8.gz")
    check(os.path.isfile(man), "no man page")
    # install hardening gate: what the package installed
    for rel in ("usr/bin/ward", "usr/bin", "var/lib/ward", "etc/ward", "etc/ward/agent.json",
                "lib/systemd/system/ward.service"):
        not_writable_by_others(tree, rel)
    hardening(os.path.join(tree, "usr/bin/ward"))

    # upgrade: state and a changed conffile survive; the unit stays enabled
    state = os.path.join(tree, "var/lib/ward/state.db")
    with open(state, "wb") as f:
        f.write(b"identity and journal stand-in")
    cfg = os.path.join(tree, "etc/ward/agent.json")
    with open(cfg, "w") as f:
        json.dump({"log_level": "debug"}, f)
    newer = bump(deb, tmp, ver.split()[1] + "+1")
    shutil.copy(newer, os.path.join(tree, "pkgs/ward-new.deb"))
    run(["chroot", tree, "dpkg", "--force-confold", "-i", "/pkgs/ward-new.deb"], env=env)
    check(open(state, "rb").read() == b"identity and journal stand-in", "the state changed")
    check(json.load(open(cfg)) == {"log_level": "debug"}, "the changed conffile was replaced")
    q = run(["chroot", tree, "dpkg-query", "-W", "-f=${Version}", "ward"])
    check(q.endswith("+1"), "upgraded version: %s" % q)

    # remove keeps state and configuration; purge takes everything
    run(["chroot", tree, "dpkg", "-r", "ward"], env=env)
    check(os.path.exists(state) and os.path.exists(cfg), "remove took state or configuration")
    check(not os.path.exists(os.path.join(tree, "usr/bin/ward")), "remove left the binary")
    run(["chroot", tree, "dpkg", "--purge", "ward"], env=env)
    left = sorted(files_of(tree) - before)
    check(left == [], "left behind after purge: %s" % left)
    print("ok: deb installed (token preseeded), upgraded (state and conffile kept), removed, "
          "purged with nothing left")


def rpm_test(tmp, rpm):
    root = os.path.join(tmp, "rpmroot")
    for d in ("bin", "usr/bin", "lib/x86_64-linux-gnu", "lib64"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    # the scriptlets need a /bin/sh in the root: this machine's dash, static enough
    shutil.copy("/bin/dash", os.path.join(root, "bin/sh"))
    for lib in ("/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"):
        shutil.copy(lib, os.path.join(root, lib.lstrip("/")))
    run(["rpm", "--root", root, "--initdb"])
    run(["rpm", "--root", root, "-i", "--nodeps", rpm])
    # dependencies are not installed in this root (--nodeps above): verify the files only
    v = subprocess.run(["rpm", "--root", root, "-V", "--nodeps", "ward"], capture_output=True, text=True)
    check(v.returncode == 0 and v.stdout.strip() == "", "rpm -V: %s%s" % (v.stdout, v.stderr))
    st = os.stat(os.path.join(root, "var/lib/ward"))
    check(st.st_mode & 0o777 == 0o700, "rpm: /var/lib/ward is %o" % (st.st_mode & 0o777))
    hardening(os.path.join(root, "usr/bin/ward"))
    run(["rpm", "--root", root, "-e", "--nodeps", "ward"])
    check(not os.path.exists(os.path.join(root, "usr/bin/ward")), "rpm -e left the binary")
    print("ok: rpm installed with rpm --root, rpm -V clean, erased")


def main():
    if len(sys.argv) > 3 and sys.argv[2] == "inner":
        inner_deb(sys.argv[3], sys.argv[4])
        return
    if os.geteuid() != 0:
        skip("needs root (unshare -m, mount, chroot, rpm --root)")
    deb = newest("ward_*_amd64.deb")
    rpm = newest("ward-[0-9]*.x86_64.rpm")
    if not deb:
        skip("no ward_*.deb in %s (scripts/package builds it)" % DIST)
    for tool in ("unshare", "chroot", "dpkg-deb", "readelf"):
        if not shutil.which(tool):
            skip(tool + " missing")
    chroot_lib.ensure_tree()
    with tempfile.TemporaryDirectory(prefix="ward-pkgtest-") as tmp:
        p = subprocess.run(["unshare", "-m", "/usr/bin/python3", os.path.abspath(__file__),
                            DIST, "inner", tmp, deb], timeout=1800)
        if p.returncode != 0:
            sys.exit(p.returncode)
        if rpm and shutil.which("rpm"):
            rpm_test(tmp, rpm)
        else:
            print("SKIP (rpm part): no rpm package or no rpm tool")


if __name__ == "__main__":
    main()
