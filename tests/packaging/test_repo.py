#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""scripts/publish-repo's signed apt and dnf repository, served over HTTP and used by the real
apt and dnf, without touching this machine's package configuration or databases:

A throwaway signing key in a temporary GnuPG home; scripts/publish-repo publishes dist/ with
it; `python3 -m http.server` serves the result on 127.0.0.1 only (killed on every way out).

apt: `apt-get update` and `apt-get download ward` with a scratch configuration (APT_CONFIG:
its own sources, lists, cache, status, no trusted keys but the sources entry's Signed-By)
from the ward.sources the script wrote; the downloaded .deb is byte-identical to dist's.
Refused, with apt's own words and nothing downloaded: (a) a copy of the repository whose
Packages file (and Packages.gz) was changed after signing, naming another .deb's hash, the
way a mirror would swap a package; (b) the good repository with Signed-By another key.

dnf: `dnf --installroot` (an empty root holding its own dnf.conf, repos dir, cache and rpm
database) with the ward.repo the script wrote (gpgcheck=1, repo_gpgcheck=1, gpgkey over
HTTP): makecache verifies repomd.xml.asc, repoquery sees ward, `dnf download` fetches the
signed rpm; dnf's own package signature check (the one `dnf install` runs, through its
Python API: `dnf install` itself cannot run here, the packages' dependencies are in no repo
of an empty root) passes after importing the repository's key into that root's rpm
database. `rpmkeys -K` with a scratch rpm database: the signed rpms verify against the
exported key and fail without it; the signed copy keeps dist's header and payload digests.
Refused: a repomd.xml changed after signing (metadata signature), and the good repository
with gpgkey naming another key.

Skips (exit 0, "SKIP: why") without the packages or the tools; the dnf half alone skips
when dnf (or its download plugin) is missing or when not root (dnf run by another user puts
its cache in /var/tmp, outside the scratch root).
Usage: test_repo.py DIST_DIR"""
import ctypes
import glob
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "../.."))
DIST = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(TOP, "dist")
PUBLISH = os.path.join(TOP, "scripts/publish-repo")
PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
              "ALL_PROXY", "ftp_proxy")
# loopback only: no proxy from the environment may see the requests
ENV = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
ENV.update(no_proxy="*", NO_PROXY="*", LC_ALL="C", LANG="C")
SERVER = []


def skip(why):
    print("SKIP:", why)
    sys.exit(0)


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)


def run(argv, ok=True, **kw):
    kw.setdefault("env", ENV)
    kw.setdefault("text", True)
    p = subprocess.run(argv, capture_output=True, timeout=600, **kw)
    if ok:
        check(p.returncode == 0, "%s: exit %d\n%s%s" % (" ".join(argv), p.returncode,
                                                         p.stdout, p.stderr))
    return p


def newest(pattern):
    found = sorted(glob.glob(os.path.join(DIST, pattern)), key=os.path.getmtime)
    return found[-1] if found else None


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def die_with_parent():
    # the server goes when this test goes, even by SIGKILL (PR_SET_PDEATHSIG)
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def serve(root):
    """python3 -m http.server on 127.0.0.1, a port the kernel picks (it prints it)."""
    log = open(os.path.join(os.path.dirname(root), "http.log"), "w")
    p = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1",
                          "--directory", root, "0"], stdout=subprocess.PIPE, stderr=log,
                         text=True, env=ENV, preexec_fn=die_with_parent)
    SERVER.append(p)
    line = p.stdout.readline()
    m = re.search(r"port (\d+)", line)
    check(m is not None, "http.server did not start: %r" % line)
    return int(m.group(1))


def stop_server():
    for p in SERVER:
        if p.poll() is None:
            p.kill()
        p.wait()
    del SERVER[:]


def make_key(home, uid):
    os.makedirs(home, mode=0o700)
    run(["gpg", "--homedir", home, "--batch", "--passphrase", "", "--quick-gen-key", uid,
         "rsa3072", "sign", "never"])
    out = run(["gpg", "--homedir", home, "--batch", "--with-colons", "--list-secret-keys"]).stdout
    return [l.split(":")[9] for l in out.splitlines() if l.startswith("fpr:")][0]


def host_dnf_state():
    """What dnf and rpm keep on this machine: the test must leave it as it was (apt's is
    not compared: other work on the machine may run apt meanwhile)."""
    seen = {}
    for d in ("/var/cache/dnf", "/var/lib/dnf", "/var/lib/rpm", "/var/log"):
        if os.path.isdir(d):
            for name in os.listdir(d):
                if d != "/var/log" or name.startswith(("dnf", "hawkey")):
                    st = os.lstat(os.path.join(d, name))
                    seen[os.path.join(d, name)] = (st.st_size, st.st_mtime)
    return seen


def kill_agent(home):
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], capture_output=True,
                   env=ENV)


# ---- apt ----------------------------------------------------------------------------------

def apt_env(tmp, name, sources):
    """A scratch apt: nothing of /etc/apt and /var/lib/{apt,dpkg} is read or written."""
    d = os.path.join(tmp, "apt-" + name)
    for sub in ("etc/apt.conf.d", "etc/sources.list.d", "etc/preferences.d", "etc/trusted.gpg.d",
                "state/lists/partial", "cache/archives/partial", "log", "dl"):
        os.makedirs(os.path.join(d, sub))
    open(os.path.join(d, "state/status"), "w").close()
    open(os.path.join(d, "etc/sources.list"), "w").close()
    with open(os.path.join(d, "etc/sources.list.d/ward.sources"), "w") as f:
        f.write(sources)
    conf = os.path.join(d, "apt.conf")
    with open(conf, "w") as f:
        f.write("""Dir "/";
Dir::Etc "%(d)s/etc";
Dir::Etc::main "/dev/null";
Dir::Etc::Parts "%(d)s/etc/apt.conf.d";
Dir::Etc::SourceList "%(d)s/etc/sources.list";
Dir::Etc::SourceParts "%(d)s/etc/sources.list.d";
Dir::Etc::Preferences "%(d)s/etc/preferences";
Dir::Etc::PreferencesParts "%(d)s/etc/preferences.d";
Dir::Etc::Trusted "%(d)s/etc/trusted.gpg";
Dir::Etc::TrustedParts "%(d)s/etc/trusted.gpg.d";
Dir::State "%(d)s/state";
Dir::State::status "%(d)s/state/status";
Dir::Cache "%(d)s/cache";
Dir::Log "%(d)s/log";
Debug::NoLocking "true";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
Acquire::Languages "none";
Acquire::http::Proxy "DIRECT";
Acquire::Retries "0";
""" % {"d": d})
    return d, dict(ENV, APT_CONFIG=conf)


def apt_sources(sample, keyring):
    """The ward.sources publish-repo wrote, Signed-By the keyring given."""
    text = open(sample).read()
    check("Signed-By: /usr/share/keyrings/ward-archive-keyring.gpg" in text, text)
    return text.replace("/usr/share/keyrings/ward-archive-keyring.gpg", keyring)


def apt_get(d, env, *args):
    return run(["apt-get", "-q"] + list(args), ok=False, env=env, cwd=os.path.join(d, "dl"))


def apt_good(tmp, good, deb):
    d, env = apt_env(tmp, "good", apt_sources(os.path.join(good, "apt/ward.sources"),
                                              os.path.join(good, "apt/ward-archive-keyring.gpg")))
    p = apt_get(d, env, "update")
    check(p.returncode == 0 and "W:" not in p.stdout + p.stderr and "E:" not in p.stderr,
          "apt-get update on the signed repository:\n%s%s" % (p.stdout, p.stderr))
    p = apt_get(d, env, "download", "ward")
    check(p.returncode == 0, "apt-get download ward:\n%s%s" % (p.stdout, p.stderr))
    got = glob.glob(os.path.join(d, "dl", "ward_*.deb"))
    check(len(got) == 1, "apt-get download left %s" % os.listdir(os.path.join(d, "dl")))
    check(os.path.basename(got[0]) == os.path.basename(deb), "downloaded %s" % got[0])
    check(open(got[0], "rb").read() == open(deb, "rb").read(),
          "the .deb apt downloaded differs from %s" % deb)
    print("ok: apt: update verified InRelease (Signed-By the exported keyring), "
          "download gave dist's .deb byte for byte")


def apt_refused(tmp, name, sources, want, why):
    d, env = apt_env(tmp, name, sources)
    p = apt_get(d, env, "update")
    text = p.stdout + p.stderr
    check(any(w in text for w in want), "%s: apt-get update did not refuse (exit %d):\n%s"
          % (why, p.returncode, text))
    check(p.returncode != 0, "%s: apt-get update said so but exited 0:\n%s" % (why, text))
    p = apt_get(d, env, "download", "ward")
    check(p.returncode != 0, "%s: apt-get download ward worked:\n%s%s" % (why, p.stdout, p.stderr))
    check(os.listdir(os.path.join(d, "dl")) == [], "%s: downloaded %s"
          % (why, os.listdir(os.path.join(d, "dl"))))
    lists = [f for f in os.listdir(os.path.join(d, "state/lists")) if f.endswith("_Packages")]
    check(lists == [], "%s: apt kept a package list: %s" % (why, lists))
    line = [l for l in text.splitlines() if any(w in l for w in want)][0]
    print("ok: apt refused %s: %s" % (why, line.strip()))


def tamper_packages(www, good):
    """A copy of the repository whose Packages names another .deb's hash after signing."""
    bad = os.path.join(www, "tampered")
    shutil.copytree(good, bad)
    pk = os.path.join(bad, "apt/dists/stable/main/binary-amd64/Packages")
    text = open(pk).read()
    m = re.search(r"^Package: ward\n(?:.+\n)*?SHA256: ([0-9a-f]{64})$", text, re.M)
    check(m is not None, "no ward stanza with a SHA256 in Packages:\n" + text)
    text = text.replace(m.group(1), hashlib.sha256(b"another package").hexdigest())
    with open(pk, "w") as f:
        f.write(text)
    with open(pk + ".gz", "wb") as f:
        f.write(run(["gzip", "-9n", "-c", pk], text=False).stdout)
    return bad


# ---- dnf / rpm ----------------------------------------------------------------------------

def rpm_digests(path):
    return run(["rpm", "-qp", "--nosignature", "--qf", "%{SHA256HEADER} %{PAYLOADDIGEST}",
                path]).stdout


def rpm_checks(tmp, good, other, rpm):
    signed = os.path.join(good, "rpm/packages", os.path.basename(rpm))
    check(os.path.isfile(signed), "publish-repo left no %s" % signed)
    check(open(signed, "rb").read() != open(rpm, "rb").read(), "the published rpm is not signed")
    check(rpm_digests(signed) == rpm_digests(rpm), "signing changed the rpm's header or payload")
    db = os.path.join(tmp, "rpmdb")
    os.makedirs(db)
    run(["rpm", "--dbpath", db, "--initdb"])
    p = run(["rpmkeys", "--dbpath", db, "-K", signed], ok=False)
    check(p.returncode != 0 and "SIGNATURES NOT OK" in p.stdout,
          "rpm -K without the key: %s%s" % (p.stdout, p.stderr))
    run(["rpmkeys", "--dbpath", db, "--import", os.path.join(other, "rpm/RPM-GPG-KEY-ward")])
    p = run(["rpmkeys", "--dbpath", db, "-K", signed], ok=False)
    check(p.returncode != 0 and "SIGNATURES NOT OK" in p.stdout,
          "rpm -K with another key only: %s%s" % (p.stdout, p.stderr))
    run(["rpmkeys", "--dbpath", db, "--import", os.path.join(good, "rpm/RPM-GPG-KEY-ward")])
    for path in glob.glob(os.path.join(good, "rpm/packages/*.rpm")):
        p = run(["rpmkeys", "--dbpath", db, "-Kv", path])
        check(p.stdout.rstrip().endswith("OK") and "Signature, key ID" in p.stdout
              and "NOT OK" not in p.stdout and "NOKEY" not in p.stdout, "rpm -Kv: " + p.stdout)
    p = run(["rpmkeys", "--dbpath", db, "-K", rpm], ok=False)
    check("signatures" not in p.stdout, "dist's rpm (unsigned) verified as signed: " + p.stdout)
    run(["gpgv", "--keyring", os.path.join(good, "apt/ward-archive-keyring.gpg"),
         os.path.join(good, "rpm/repodata/repomd.xml.asc"),
         os.path.join(good, "rpm/repodata/repomd.xml")])
    repomd = open(os.path.join(good, "rpm/repodata/repomd.xml")).read()
    for kind in ("primary", "filelists", "other"):
        check('<data type="%s">' % kind in repomd, "repomd.xml has no %s" % kind)
    print("ok: rpm: the published rpms verify (rpm -K) with the exported key only, keep dist's "
          "header and payload digests; repomd.xml.asc verifies (gpgv)")


DNF_SIGCHECK = r"""
import sys
import dnf
root, conf, dest = sys.argv[1:4]
b = dnf.Base()
b.conf.installroot = root
b.conf.read(conf)
# what dnf's CLI does with --installroot: cache, logs and state inside the root
b.conf.cachedir = root + "/var/cache/dnf"
b.conf.logdir = root + "/var/log"
b.conf.persistdir = root + "/var/lib/dnf"
b.conf.substitutions["releasever"] = "12"
b.conf.assumeyes = True
b.read_all_repos()
b.fill_sack(load_system_repo=False)
pkgs = list(b.sack.query().available().filter(name="ward", arch="x86_64"))
assert pkgs, "no ward in the repository"
b.conf.destdir = dest
b.download_packages(pkgs)
po = pkgs[0]
res, msg = b.package_signature_check(po)
print("before import:", res, msg)
if res == 1:
    b.package_import_key(po, askcb=lambda *a: True)
    res, msg = b.package_signature_check(po)
    print("after import:", res, msg)
sys.exit(0 if res == 0 else 3)
"""


def dnf_env(tmp, name, repo_text):
    root = os.path.join(tmp, "dnf-" + name)
    for sub in ("etc/dnf", "etc/yum.repos.d", "dl"):
        os.makedirs(os.path.join(root, sub))
    conf = os.path.join(root, "etc/dnf/dnf.conf")
    with open(conf, "w") as f:
        f.write("[main]\ngpgcheck=1\nrepo_gpgcheck=1\nreposdir=%s/etc/yum.repos.d\n"
                "install_weak_deps=0\nkeepcache=1\nretries=1\nproxy=\n" % root)
    with open(os.path.join(root, "etc/yum.repos.d/ward.repo"), "w") as f:
        f.write(repo_text)
    argv = ["dnf", "-y", "--installroot=" + root, "--config=" + conf,
            "--setopt=reposdir=%s/etc/yum.repos.d" % root, "--releasever=12",
            "--disablerepo=*", "--enablerepo=ward",
            # only the plugin the test needs: others write to fixed host paths
            # (generate_completion_cache: /var/cache/dnf/packages.db, whatever the root)
            "--disableplugin=*", "--enableplugin=download"]
    return root, conf, argv


def dnf_good(tmp, good, rpm):
    repo = open(os.path.join(good, "rpm/ward.repo")).read()
    check("gpgcheck=1" in repo and "repo_gpgcheck=1" in repo, repo)
    root, conf, dnf = dnf_env(tmp, "good", repo)
    run(dnf + ["makecache"])
    q = run(dnf + ["-q", "repoquery", "--qf", "%{name}-%{version}-%{release}.%{arch}", "ward"])
    want = os.path.basename(rpm)[:-len(".rpm")]
    check(want in q.stdout.split(), "repoquery ward: %s" % q.stdout)
    dl = os.path.join(root, "dl")
    run(dnf + ["download", "--destdir", dl, "ward"])
    got = os.path.join(dl, os.path.basename(rpm))
    check(os.path.isfile(got), "dnf download left %s" % os.listdir(dl))
    check(sha256(got) == sha256(os.path.join(good, "rpm/packages", os.path.basename(rpm))),
          "the rpm dnf downloaded is not the published one")
    sig_dest = os.path.join(tmp, "dnf-sig-dl")
    os.makedirs(sig_dest)
    p = run([sys.executable, "-c", DNF_SIGCHECK, root, conf, sig_dest], ok=False)
    check(p.returncode == 0 and "after import: 0" in p.stdout,
          "dnf's package signature check:\n%s%s" % (p.stdout, p.stderr))
    check("before import: 1" in p.stdout, "the key was trusted before it was imported:\n"
          + p.stdout)
    print("ok: dnf: makecache verified repomd.xml.asc (repo_gpgcheck=1, key from gpgkey=), "
          "repoquery and download gave the signed rpm; dnf's package signature check "
          "(gpgcheck=1) passed once the repository's key was imported")


def dnf_refused(tmp, name, repo_text, want, why):
    root, conf, dnf = dnf_env(tmp, name, repo_text)
    p = run(dnf + ["makecache"], ok=False)
    text = p.stdout + p.stderr
    check(p.returncode != 0 and any(w in text for w in want),
          "%s: dnf makecache did not refuse (exit %d):\n%s" % (why, p.returncode, text))
    dl = os.path.join(root, "dl")
    p = run(dnf + ["download", "--destdir", dl, "ward"], ok=False)
    check(p.returncode != 0 and os.listdir(dl) == [], "%s: dnf download: exit %d, %s\n%s%s"
          % (why, p.returncode, os.listdir(dl), p.stdout, p.stderr))
    line = [l for l in text.splitlines() if any(w in l for w in want)][0]
    print("ok: dnf refused %s: %s" % (why, line.strip()))


# ---- main ---------------------------------------------------------------------------------

def main():
    deb = newest("ward_*_amd64.deb")
    rpm = newest("ward-[0-9]*.x86_64.rpm")
    if not deb and not rpm:
        skip("no ward packages in %s (scripts/package builds them)" % DIST)
    for tool, pkg in (("gpg", "gnupg"), ("gpgv", "gpgv"), ("apt-ftparchive", "apt-utils"),
                      ("apt-get", "apt"), ("createrepo_c", "createrepo-c"),
                      ("rpmsign", "rpm"), ("rpmkeys", "rpm")):
        if not shutil.which(tool):
            skip("%s missing (the %s package; scripts/install-deps)" % (tool, pkg))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    host_before = host_dnf_state()
    tmp = tempfile.mkdtemp(prefix="ward-repotest-")
    ENV["TMPDIR"] = tmp  # librepo's and gpg's scratch files too
    homes = []
    try:
        # apt's download methods run as _apt when apt runs as root: let them through to the
        # scratch directories (the key's GnuPG home stays 0700)
        os.chmod(tmp, 0o755)
        www = os.path.join(tmp, "www")
        os.makedirs(www)
        port = serve(www)
        base = "http://127.0.0.1:%d" % port
        keys = {}
        for name in ("org", "other"):
            home = os.path.join(tmp, "gnupg-" + name)
            homes.append(home)
            keys[name] = make_key(home, "Ward %s key (test) <%s@example.invalid>" % (name, name))
        good = os.path.join(www, "good")
        other = os.path.join(www, "other")
        out = run([PUBLISH, "--gnupghome", homes[0], "--key", keys["org"], "--url",
                   base + "/good", DIST, good]).stdout
        print(out.rstrip())
        run([PUBLISH, "--gnupghome", homes[1], "--key", keys["other"], "--url",
             base + "/other", DIST, other])

        # the script's own refusals
        empty = os.path.join(tmp, "empty")
        os.makedirs(empty)
        p = run([PUBLISH, "--gnupghome", homes[0], "--key", keys["org"], empty,
                 os.path.join(tmp, "x")], ok=False)
        check(p.returncode != 0 and "no packages" in p.stderr, "empty input: " + p.stderr)
        p = run([PUBLISH, "--gnupghome", homes[0], "--key", "nobody@example.invalid", DIST,
                 os.path.join(tmp, "x")], ok=False)
        check(p.returncode != 0 and "no secret key" in p.stderr, "unknown key: " + p.stderr)
        nopath = os.path.join(tmp, "nopath")
        os.makedirs(nopath)
        for d in ("/usr/bin", "/bin"):
            for name in os.listdir(d):
                if name not in ("apt-ftparchive", "createrepo_c") and \
                        not os.path.lexists(os.path.join(nopath, name)):
                    os.symlink(os.path.join(d, name), os.path.join(nopath, name))
        p = run([PUBLISH, "--gnupghome", homes[0], "--key", keys["org"], DIST,
                 os.path.join(tmp, "x")], ok=False, env=dict(ENV, PATH=nopath))
        check(p.returncode != 0 and "apt-ftparchive not found (install the apt-utils" in p.stderr,
              "a PATH without apt-ftparchive: " + p.stderr)
        print("ok: publish-repo refuses an empty input, an unknown key, missing tools")

        if deb:
            apt_good(tmp, good, deb)
            bad = tamper_packages(www, good)
            apt_refused(tmp, "tampered", apt_sources(
                os.path.join(good, "apt/ward.sources"),
                os.path.join(good, "apt/ward-archive-keyring.gpg")).replace(
                    "/good/apt", "/tampered/apt"),
                ("Hash Sum mismatch", "Hashes of expected file", "unexpected size"),
                "a Packages file changed after signing")
            apt_refused(tmp, "otherkey", apt_sources(
                os.path.join(good, "apt/ward.sources"),
                os.path.join(other, "apt/ward-archive-keyring.gpg")),
                ("NO_PUBKEY", "is not signed"), "a repository signed by another key")
        else:
            print("SKIP (apt part): no ward_*.deb in " + DIST)

        if rpm:
            rpm_checks(tmp, good, other, rpm)
            why = None
            if not shutil.which("dnf"):
                why = "dnf missing (the dnf package)"
            elif run(dnf_env(tmp, "probe", "")[2] + ["download", "--help"],
                     ok=False).returncode != 0:
                why = "dnf download missing (the dnf-plugins-core package)"
            elif os.geteuid() != 0:
                # as another user dnf keeps its cache in /var/tmp/dnf-USER-*, outside the
                # scratch root, and may not write the root's rpm database
                why = "needs root (dnf moves a non-root user's cache out of --installroot)"
            if why:
                print("SKIP (dnf part):", why)
            else:
                dnf_good(tmp, good, rpm)
                bad = os.path.join(www, "tampered-rpm")
                shutil.copytree(good, bad)
                repomd = os.path.join(bad, "rpm/repodata/repomd.xml")
                text = open(repomd).read()
                text2 = re.sub(r"<revision>(\d+)</revision>",
                               lambda m: "<revision>%d</revision>" % (int(m.group(1)) + 1),
                               text)
                check(text2 != text, "no <revision> in repomd.xml")
                with open(repomd, "w") as f:
                    f.write(text2)
                repo = open(os.path.join(good, "rpm/ward.repo")).read()
                dnf_refused(tmp, "tampered", repo.replace("/good/", "/tampered-rpm/"),
                            ("GPG signature", "Bad GPG", "signature verification"),
                            "a repomd.xml changed after signing")
                dnf_refused(tmp, "otherkey", repo.replace(
                    base + "/good/rpm/RPM-GPG-KEY-ward", base + "/other/rpm/RPM-GPG-KEY-ward"),
                    ("GPG signature", "Bad GPG", "signature verification", "NO_PUBKEY",
                     "No public key"), "a repository signed by another key")
            changed = set(host_dnf_state().items()) ^ set(host_before.items())
            check(not changed, "dnf or rpm wrote outside the scratch roots: %s" % sorted(changed))
        else:
            print("SKIP (rpm part): no ward-*.x86_64.rpm in " + DIST)
    finally:
        stop_server()
        # librepo's keyrings (repo_gpgcheck) get agents of their own inside the dnf roots
        for d, dirs, _ in os.walk(tmp):
            homes += [os.path.join(d, x) for x in dirs if x == "pubring"]
        for home in homes:
            kill_agent(home)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
