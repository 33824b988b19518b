#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Inventory end to end: the real ward agent, pointed at a scratch copy of a fixture root
(tests/data/inventory), uploads to the real ward-server. A full upload first, then a
delta of a few hundred bytes when a package is added to the fixture's dpkg status; the
server's view equals a fresh `ward inventory --json` of the same root (volatile columns
aside); a tampered server database or a lost server copy leads to a full upload; the
daemon uploads off its loop and on an `inventory` command; `inventory find` answers the
package-version and unencrypted-root questions over a fleet of three fixture machines.
Usage: test_inventory.py CASE (WARD_BIN, WARD_SERVER_BIN)."""
import json
import os
import shutil

from wardlib import Agent, Server, check, main, run, wait_until, WARD

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "inventory")


def fixture_root(tmp, name, as_name=None):
    """A private copy of a fixture root (tests never modify tests/data)."""
    dst = os.path.join(tmp, "root-" + (as_name or name))
    shutil.copytree(os.path.join(FIXTURES, name), dst, symlinks=True)
    return dst


def add_dpkg_package(root, name, version, arch="amd64"):
    path = os.path.join(root, "var", "lib", "dpkg", "status")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as f:
        f.write("\nPackage: %s\nStatus: install ok installed\nPriority: optional\n"
                "Section: misc\nInstalled-Size: 42\nMaintainer: Test <test@example.org>\n"
                "Architecture: %s\nVersion: %s\nDescription: added by test_inventory\n"
                % (name, arch, version))


def volatile_columns():
    """{table: {column}} of the columns marked volatile in the generated schema docs."""
    md = run([WARD, "inventory", "--schema-markdown"], check_rc=0).stdout
    out, table = {}, None
    for line in md.splitlines():
        if line.startswith("### `"):
            table = line.split("`")[1]
        elif table and "*volatile*" in line:
            out.setdefault(table, set()).add(line.split("`")[1])
    check(out.get("memory") == {"available_bytes", "swap_free_bytes"}, out)
    return out


def strip(doc, volatile):
    """The document without "collection" and without volatile columns."""
    doc = dict(doc)
    doc.pop("collection", None)
    for table, cols in volatile.items():
        sec, _, member = table.partition(".")
        v = doc.get(sec)
        if member and isinstance(v, dict):
            v = v.get(member)
        rows = v if isinstance(v, list) else [v] if isinstance(v, dict) else []
        for r in rows:
            for c in cols:
                r.pop(c, None)
    return doc


class Device:
    """An agent enrolled with the server, collecting under its own root."""

    def __init__(self, tmp, server, name, root):
        self.root = root
        self.agent = Agent(tmp, name, config={"root": root})
        self.agent.enroll(server.token())
        self.id = self.agent.meta("device_id")
        self.server = server

    def checkin(self, *extra):
        return self.agent.cli("checkin", *extra).stdout

    def local(self):
        return json.loads(run([WARD, "inventory", "--json", "--root", self.root],
                              check_rc=0).stdout)

    def server_view(self):
        return self.server.cli_json("inventory", "show", self.id)

    def summary(self):
        return self.server.cli_json("device", "show", self.id)["inventory"]


def check_same(dev, volatile):
    mine, theirs = strip(dev.local(), volatile), strip(dev.server_view(), volatile)
    if mine != theirs:
        diff = [k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k)]
        raise AssertionError("server view differs from a fresh collection in %s" % diff)


def case_delta_after_package_added(tmp):
    volatile = volatile_columns()
    s = Server(tmp).start()
    try:
        dev = Device(tmp, s, "agent", fixture_root(tmp, "vm-debian12"))
        out = dev.checkin()
        check("inventory: full upload" in out, out)
        inv = dev.summary()
        check(inv["last_upload"]["kind"] == "full" and inv["apps"]["dpkg"] == 120, inv)
        check(inv["root_encrypted"] is False and inv["os"].startswith("Debian"), inv)
        full_bytes = inv["last_upload"]["wire_bytes"]
        check_same(dev, volatile)
        # Not due again right away: no upload.
        out = dev.checkin()
        check("inventory:" not in out, out)

        add_dpkg_package(dev.root, "zz-test-tool", "2.1-1")
        out = dev.checkin("--inventory")
        check("inventory: delta upload" in out and "1 added, 0 removed, 0 changed" in out, out)
        inv = dev.summary()
        wire = inv["last_upload"]["wire_bytes"]
        check(inv["last_upload"]["kind"] == "delta" and inv["last_upload"]["changes"] == 1, inv)
        # A few hundred bytes on the wire, against kilobytes for the full document.
        check(100 < wire < 1000 and wire * 4 < full_bytes, (wire, full_bytes))
        last = json.loads(dev.agent.meta("inventory_last"))
        check(last["wire_bytes"] == wire and last["kind"] == "delta", (last, wire))
        check(inv["apps"]["dpkg"] == 121, inv)
        check_same(dev, volatile)

        # The inventory command asks for a full collection; nothing changed: empty delta.
        s.cli("command", "send", dev.id, "inventory")
        out = dev.checkin()
        check("inventory: delta upload (full collection)" in out
              and "0 added, 0 removed, 0 changed" in out, out)
        inv = dev.summary()
        check(inv["last_upload"]["wire_bytes"] < 2048, inv)
        results = [c for c in s.commands(dev.id) if c["type"] == "inventory"]
        check(results and results[0]["status"] == "succeeded", results)
        check(inv["resyncs"] == 0 and inv["full_uploads"] == 1, inv)
    finally:
        s.stop()


def case_resync_on_mismatch(tmp):
    volatile = volatile_columns()
    s = Server(tmp).start()
    try:
        dev = Device(tmp, s, "agent", fixture_root(tmp, "vm-debian12"))
        dev.checkin()
        check(dev.summary()["full_uploads"] == 1, dev.summary())

        # A row changed behind the service's back: the delta applies on the right base, but
        # the result does not hash as the agent's document does.
        rows = s.sql("SELECT key FROM inventory_rows WHERE device_id = ? AND tbl = 'apps'"
                     " ORDER BY key LIMIT 1", (dev.id,))
        s.sql("UPDATE inventory_rows SET row = json_set(row, '$.version', '0.0-tampered')"
              " WHERE device_id = ? AND tbl = 'apps' AND key = ?", (dev.id, rows[0][0]))
        add_dpkg_package(dev.root, "zz-one", "1.0")
        out = dev.checkin("--inventory")
        check("inventory: full upload" in out, out)
        inv = dev.summary()
        check(inv["last_upload"]["kind"] == "full" and inv["resyncs"] == 1
              and inv["full_uploads"] == 2, inv)
        check_same(dev, volatile)
        events = [e["kind"] for e in s.cli_json("device", "show", dev.id)["events"]]
        check("inventory_resync" in events, events)

        # The service lost its copy (restored from an old backup): base hash unknown.
        s.sql("DELETE FROM inventory_rows WHERE device_id = ?", (dev.id,))
        s.sql("DELETE FROM inventory_tables WHERE device_id = ?", (dev.id,))
        s.sql("DELETE FROM inventory WHERE device_id = ?", (dev.id,))
        add_dpkg_package(dev.root, "zz-two", "1.0")
        out = dev.checkin("--inventory")
        check("inventory: full upload" in out, out)
        check_same(dev, volatile)

        # A stored hash that is not the agent's base: resync again.
        s.sql("UPDATE inventory SET hash = ? WHERE device_id = ?", ("0" * 64, dev.id))
        out = dev.checkin("--inventory")
        check("inventory: full upload" in out, out)
        check(dev.summary()["resyncs"] >= 1, dev.summary())
        # And back to deltas.
        out = dev.checkin("--inventory")
        check("inventory: delta upload" in out, out)
        check_same(dev, volatile)
    finally:
        s.stop()


def case_daemon_uploads(tmp):
    s = Server(tmp).start()
    try:
        root = fixture_root(tmp, "laptop-luks")
        a = Agent(tmp, "agent", config={"root": root, "log_level": "info"})
        a.enroll(s.token())
        dev = a.meta("device_id")
        p = a.start()
        p.wait_for("full inventory uploaded", timeout=30)
        inv = s.cli_json("device", "show", dev)["inventory"]
        check(inv["vendor"] == "LENOVO" and inv["root_encrypted"] is True, inv)
        check(inv["apps"]["total"] == 5, inv)
        # An inventory command reaches the daemon through the long-poll; a package added
        # meanwhile arrives as a delta.
        add_dpkg_package(root, "zz-daemon", "0.1")
        mark = p.mark()
        s.cli("command", "send", dev, "inventory")
        p.wait_for("inventory delta uploaded: 1 added", timeout=30, start=mark)
        found = s.cli_json("inventory", "find", "--package", "zz-daemon")
        check([d["device_id"] for d in found] == [dev], found)
        check(a.stop() == 0, "agent exit status")
    finally:
        s.stop()


def case_find_fleet(tmp):
    s = Server(tmp).start()
    try:
        laptop = fixture_root(tmp, "laptop-luks")  # openssl 3.0.13-0ubuntu3.4, LUKS root
        desktop = fixture_root(tmp, "desktop-dmi")  # LUKS /home only
        vm = fixture_root(tmp, "vm-debian12")  # no encryption
        add_dpkg_package(desktop, "openssl", "3.0.15-1~deb12u1")
        add_dpkg_package(vm, "openssl", "3.0.11-1~deb12u2")
        devs = {}
        for name, root in (("laptop", laptop), ("desktop", desktop), ("vm", vm)):
            d = Device(tmp, s, name, root)
            d.checkin()
            devs[name] = d.id
        names = {v: k for k, v in devs.items()}

        def find(*args):
            return sorted(names[d["device_id"]] for d in s.cli_json("inventory", "find", *args))

        # 3.0.13-0ubuntu3.4 and 3.0.11-1~deb12u2 are below 3.0.15; 3.0.15-1~deb12u1 is not
        # (dpkg order: the Debian revision makes it newer than the bare upstream version).
        check(find("--package", "openssl", "--version-lt", "3.0.15") == ["laptop", "vm"],
              find("--package", "openssl", "--version-lt", "3.0.15"))
        check(find("--package", "openssl", "--version-ge", "3.0.15") == ["desktop"], "ge")
        check(find("--package", "openssl", "--version-lt", "3.0.12") == ["vm"], "lt 3.0.12")
        check(find("--package", "openssl") == ["desktop", "laptop", "vm"], "any openssl")
        check(find("--unencrypted-root") == ["desktop", "vm"], find("--unencrypted-root"))
        check(find("--where", "encryption.summary.root_encrypted = true") == ["laptop"], "enc")
        check(find("--unencrypted-root", "--package", "openssl", "--version-lt", "3.0.15")
              == ["vm"], "combined")
        check(find("--where", "system.dmi_present=false") == ["vm"], "dmi")
        check(find("--where", "memory.total_bytes >= 24G", "--where", "apps.name~open*")
              == ["laptop"], find("--where", "memory.total_bytes >= 24G"))
        rows = s.cli_json("inventory", "find", "--package", "openssl", "--version-lt", "3.0.15")
        versions = sorted(r["matches"]["apps"][0]["version"] for r in rows)
        check(versions == ["3.0.11-1~deb12u2", "3.0.13-0ubuntu3.4"], versions)
        text = s.cli("inventory", "find", "--package", "openssl", "--version-lt",
                     "3.0.15").stdout
        check("2 device(s)" in text and "3.0.13-0ubuntu3.4" in text, text)
        # Bad queries are usage errors with a reason.
        for bad, why in ((("--where", "apps.colour=red"), "no column"),
                         (("--where", "nosuch.x=1"), "unknown table"),
                         (("--where", "memory.total_bytes>lots"), "integer"),
                         (("--where", "tpm.present<true"), "bool"),
                         (("--version-lt", "1"), "needs --package"),
                         ((), "usage")):
            r = s.cli("inventory", "find", *bad, rc=2)
            check(why in r.stderr, (bad, r.stderr))
        r = s.cli("inventory", "show", devs["laptop"], "--section", "apps")
        check("apps: 5 row(s)" in r.stdout, r.stdout)
        shown = s.cli_json("inventory", "show", devs["laptop"], "--section", "encryption")
        check(list(shown) == ["encryption"], shown)
    finally:
        s.stop()


def make_cert(path, cn, days, ca=True):
    """A self-signed certificate valid for `days` from now (openssl req, a tool Ward did not
    write), PEM at path."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", path + ".key", "-out", path, "-days", str(days), "-subj",
         "/CN=" + cn, "-addext",
         "basicConstraints=critical,CA:%s" % ("TRUE" if ca else "FALSE")], check_rc=0)
    os.unlink(path + ".key")
    out = run(["openssl", "x509", "-in", path, "-noout", "-enddate", "-fingerprint",
               "-sha256"], check_rc=0).stdout
    return out


def case_certificates(tmp):
    """The certificates section over a fleet: additions to Debian's and Fedora's trust
    stores, Ward's own (ward/ and ward- prefixed) marked managed, a client_cert setting's
    certificate (not its key or chain), a file that is not a
    certificate listed with its problem, the distribution's bundle not listed; the server
    answers "which devices have a certificate expiring within 30 days" and "which trust
    Ward-managed roots"; the agent's columns match openssl's reading."""
    s = Server(tmp).start()
    try:
        laptop = fixture_root(tmp, "laptop-luks")
        desktop = fixture_root(tmp, "desktop-dmi")
        vm = fixture_root(tmp, "vm-debian12")
        lca = os.path.join(laptop, "usr/local/share/ca-certificates")
        make_cert(os.path.join(lca, "soon.crt"), "Laptop Soon CA", 10)
        make_cert(os.path.join(lca, "later.crt"), "Laptop Later CA", 400)
        with open(os.path.join(lca, "notes.txt"), "w") as f:  # not *.crt: not taken
            f.write("not a certificate\n")
        ours = os.path.join(desktop, "etc/pki/ca-trust/source/anchors/ward-corp.pem")
        said = make_cert(ours, "Corp Root", 5)
        make_cert(os.path.join(desktop, "etc/pki/ca-trust/source/anchors/vendor.pem"),
                  "Vendor Root", 900)
        make_cert(os.path.join(vm, "usr/local/share/ca-certificates/ward/corp.crt"),
                  "Corp Root 2", 700)
        with open(os.path.join(vm, "usr/local/share/ca-certificates/broken.crt"), "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
        # a client_cert setting's files: only cert.pem is a row
        cc = os.path.join(vm, "var/lib/ward/certs/user-cert")
        make_cert(os.path.join(cc, "cert.pem"), "vm-device", 60, ca=False)
        make_cert(os.path.join(cc, "chain.pem"), "Ward Issuing CA", 900)
        with open(os.path.join(cc, "key.pem"), "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nnot listed\n-----END PRIVATE KEY-----\n")
        os.makedirs(os.path.join(vm, "etc/ssl/certs"), exist_ok=True)
        shutil.copy(ours, os.path.join(vm, "etc/ssl/certs/ca-certificates.crt"))
        devs = {}
        for name, root in (("laptop", laptop), ("desktop", desktop), ("vm", vm)):
            d = Device(tmp, s, name, root)
            d.checkin()
            devs[name] = d
        names = {d.id: k for k, d in devs.items()}

        def find(*args):
            return sorted(names[d["device_id"]] for d in s.cli_json("inventory", "find", *args))

        def rows(name):
            return {r["path"]: r for r in devs[name].server_view()["certificates"]}

        lr = rows("laptop")
        check(sorted(lr) == ["/usr/local/share/ca-certificates/later.crt",
                             "/usr/local/share/ca-certificates/soon.crt"], lr)
        dr = rows("desktop")
        corp = dr["/etc/pki/ca-trust/source/anchors/ward-corp.pem"]
        check(corp["managed"] is True and corp["store"] == "system" and corp["is_ca"] is True
              and corp["subject"] == "CN=Corp Root" and corp["issuer"] == "CN=Corp Root", corp)
        check(dr["/etc/pki/ca-trust/source/anchors/vendor.pem"]["managed"] is False, dr)
        # openssl's reading of the same file: fingerprint and end date
        fp = [l.split("=", 1)[1] for l in said.splitlines() if "Fingerprint" in l][0]
        check(corp["sha256"] == fp.replace(":", "").lower(), (corp["sha256"], fp))
        end = [l.split("=", 1)[1] for l in said.splitlines() if l.startswith("notAfter")][0]
        check(abs(corp["not_after"] - int(run(["date", "-d", end, "+%s"], check_rc=0)
                                          .stdout)) <= 1, (corp["not_after"], end))
        vr = rows("vm")
        check(vr["/usr/local/share/ca-certificates/ward/corp.crt"]["managed"] is True, vr)
        client = vr["/var/lib/ward/certs/user-cert/cert.pem"]
        check(client["store"] == "client" and client["managed"] is True and
              client["is_ca"] is False and client["subject"] == "CN=vm-device", client)
        check(not any(p.endswith(("key.pem", "chain.pem")) for p in vr), vr)
        bad = vr["/usr/local/share/ca-certificates/broken.crt"]
        check("problem" in bad and "subject" not in bad and "decode" in bad["problem"], bad)
        check(not any(p.startswith("/etc/ssl") for p in vr), "the bundle was listed: %s" % vr)
        check(find("--cert-expiring-within", "30d") == ["desktop", "laptop"],
              find("--cert-expiring-within", "30d"))
        check(find("--cert-expiring-within", "7d") == ["desktop"], "7d")
        check(find("--where", "certificates.managed=true") == ["desktop", "vm"], "managed")
        check(find("--where", "certificates.subject=CN=Vendor Root") == ["desktop"], "subject")
        r = s.cli("inventory", "find", "--cert-expiring-within", "soon", rc=2)
        check("not a duration" in r.stderr, r.stderr)
    finally:
        s.stop()


if __name__ == "__main__":
    main({k[5:]: v for k, v in globals().items() if k.startswith("case_")})
