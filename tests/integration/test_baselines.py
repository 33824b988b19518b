#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Baselines assigned by ward-server to real `ward` agents: put/assign, fetch at check-in,
audit and enforce evaluation under each agent's scratch root (never this machine's /etc),
compliance reports, drift repaired under `ward run`, removal restoring prior values, a
tampered document refused, version bumps, the fleet summary, and the server's validation of
documents and reports. Usage: test_baselines.py CASE (WARD_BIN, WARD_SERVER_BIN)."""
import json
import os
import signal
import time

from wardlib import (Agent, Server, check, enroll_direct, final, https, main, run,
                     wait_until)

FAST = {"backoff_base": 1, "backoff_cap": 2, "connect_timeout": 2}
SSHD = "Port 22\nPermitRootLogin yes\nPasswordAuthentication no\n"


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def make_root(agent, sshd=SSHD, key_mode=0o644):
    """A small managed tree: etc/ssh/sshd_config, etc/motd, etc/app.key."""
    root = agent.root
    write(os.path.join(root, "etc/ssh/sshd_config"), sshd)
    write(os.path.join(root, "etc/motd"), "Authorized use only\n")
    write(os.path.join(root, "etc/app.key"), "secret\n", key_mode)
    return root


def new_agent(tmp, s, name="agent", **cfg):
    root = os.path.join(tmp, name, "root")
    a = Agent(tmp, name, config=dict(FAST, root=root, **cfg))
    a.root = root
    make_root(a)
    a.enroll(s.token())
    a.device = a.status()["device_id"]
    return a


def baseline(tmp, mode="audit", version=1, bid="it-base", extra=(), restore=False):
    doc = {"id": bid, "version": version, "mode": mode, "description": "integration test",
           "settings": [
               {"id": "ssh-root", "kind": "line", "path": "/etc/ssh/sshd_config",
                "key": "PermitRootLogin", "value": "no", "separator": " ",
                "restore_on_removal": restore},
               {"id": "motd", "kind": "line", "path": "/etc/motd", "line": "Authorized use only"},
               {"id": "key-mode", "kind": "file", "path": "/etc/app.key", "state": "present",
                "mode": "0600", "restore_on_removal": restore},
           ] + list(extra)}
    path = os.path.join(tmp, "%s-v%d.json" % (bid, version))
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    return path


def put_assign(s, path, bid, target):
    s.cli("baseline", "put", path)
    s.cli("baseline", "assign", bid, *([target] if target != "--all" else ["--all"]))


def mtimes(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            st = os.stat(p)
            out[p] = (st.st_mtime_ns, st.st_mode)
    return out


def report(s, dev, bid="it-base"):
    for b in s.cli_json("compliance", dev):
        if b["baseline"] == bid:
            return b
    return None


def results_of(s, dev, bid="it-base"):
    """The stored per-setting results of a device's latest report, from the server DB."""
    rows = s.sql("SELECT results FROM compliance WHERE device_id = ? AND baseline_id = ?",
                 (dev, bid))
    return {r["id"]: r for r in json.loads(rows[0][0])} if rows else {}


def read(path):
    with open(path) as f:
        return f.read()


# ---- cases ----------------------------------------------------------------------------------


def case_audit_reports(tmp):
    s = Server(tmp).start()
    try:
        a = new_agent(tmp, s)
        put_assign(s, baseline(tmp, "audit"), "it-base", a.device)
        before = mtimes(a.root)
        a.cli("checkin")
        check(mtimes(a.root) == before, "audit mode changed files")
        r = report(s, a.device)
        check(r and r["status"] == "non_compliant" and r["version"] == 1, r)
        check(r["results"] == {"KEPT": 1, "REPAIRED": 0, "FAILED": 2, "DENIED": 0,
                               "SKIPPED": 0}, r["results"])
        failing = {f["id"]: f for f in r["failing"]}
        check(set(failing) == {"ssh-root", "key-mode"}, failing)
        f = failing["ssh-root"]
        check(f["result"] == "FAILED" and f["expected"] == "PermitRootLogin no" and
              f["actual"] == "PermitRootLogin yes" and f["error"] == "not compliant (audit)", f)
        check("0600" in failing["key-mode"]["expected"] and
              "0644" in failing["key-mode"]["actual"], failing["key-mode"])
        # The table shows the failing settings with expected and actual values.
        out = s.cli("compliance", a.device).stdout
        check("ssh-root" in out and "PermitRootLogin yes" in out and "non_compliant" in out, out)
        st = a.status()["compliance"]
        check(st["baselines"] == 1 and st["failing"] == 2 and st["unreported"] == 0 and
              st["last_evaluation"], st)
        check("1 baseline(s), 2 failing setting(s)" in a.cli("status").stdout, "status line")
        # The agent holds exactly the bytes the server stored.
        held = a.sql("SELECT id, version, sha256 FROM baselines")
        srv = s.sql("SELECT id, version, sha256 FROM baselines")
        check(held == srv, (held, srv))
        # A second check-in evaluates again and still writes nothing.
        a.cli("checkin")
        check(mtimes(a.root) == before, "second audit run changed files")
        kinds = [k for (k,) in s.sql("SELECT kind FROM events WHERE kind LIKE 'baseline%'")]
        check(kinds == ["baseline_put", "baseline_assign"], kinds)
    finally:
        s.stop()


def case_enforce_repairs(tmp):
    s = Server(tmp).start()
    try:
        a = new_agent(tmp, s)
        put_assign(s, baseline(tmp, "enforce"), "it-base", a.device)
        a.cli("checkin")
        r = report(s, a.device)
        check(r["status"] == "compliant" and r["results"]["REPAIRED"] == 2 and
              r["results"]["KEPT"] == 1, r)
        check("PermitRootLogin no" in read(os.path.join(a.root, "etc/ssh/sshd_config")),
              "not repaired")
        check(os.stat(os.path.join(a.root, "etc/app.key")).st_mode & 0o777 == 0o600, "mode")
        before = mtimes(a.root)
        a.cli("checkin")
        r = report(s, a.device)
        check(r["results"] == {"KEPT": 3, "REPAIRED": 0, "FAILED": 0, "DENIED": 0,
                               "SKIPPED": 0}, r)
        check(mtimes(a.root) == before, "a compliant enforce run wrote files")
    finally:
        s.stop()


def case_drift_under_run(tmp):
    s = Server(tmp).start()
    a = None
    try:
        a = new_agent(tmp, s, checkin_interval=600)
        put_assign(s, baseline(tmp, "enforce"), "it-base", a.device)
        a.start()
        r = wait_until(lambda: (lambda x: x if x and x["status"] == "compliant" else None)(
            report(s, a.device)), 15, what="the first compliance report")
        check(r["results"]["REPAIRED"] == 2, r)
        a.proc.wait_for("watching for drift", 10)
        first = r["evaluated_at"]
        sshd = os.path.join(a.root, "etc/ssh/sshd_config")
        time.sleep(1.1)  # a new evaluation gets a later time stamp
        # An editor-style replacement of the file: write a temporary file, rename it over.
        t0 = time.monotonic()
        write(sshd + ".tmp", SSHD)
        os.rename(sshd + ".tmp", sshd)
        wait_until(lambda: "PermitRootLogin no" in read(sshd), 5, interval=0.02,
                   what="the drift repair")
        took = time.monotonic() - t0
        check(took < 1.5, "drift repaired after %.2f s" % took)
        # Reported without waiting for the 10-minute check-in interval.
        r = wait_until(lambda: (lambda x: x if x and x["evaluated_at"] != first else None)(
            report(s, a.device)), 15, what="the drift report")
        res = results_of(s, a.device)
        check(res["ssh-root"]["result"] == "REPAIRED", res)
        check(r["status"] == "compliant", r)
        check(a.proc.count("drift of ssh-root repaired") == 1, a.proc.text())
        rc = a.stop()
        check(rc == 0, "ward run exited %s" % rc)
        a = None
    finally:
        if a:
            a.stop(signal.SIGKILL)
        s.stop()


def case_unassign_restores(tmp):
    s = Server(tmp).start()
    try:
        a = new_agent(tmp, s)
        put_assign(s, baseline(tmp, "enforce", restore=True), "it-base", a.device)
        a.cli("checkin")
        sshd = os.path.join(a.root, "etc/ssh/sshd_config")
        check("PermitRootLogin no" in read(sshd), "not applied")
        check(len(a.sql("SELECT * FROM enf_journal")) == 2, "journal")
        s.cli("baseline", "unassign", "it-base", a.device)
        a.cli("checkin")
        check(read(sshd) == SSHD, "not restored: %r" % read(sshd))
        check(os.stat(os.path.join(a.root, "etc/app.key")).st_mode & 0o777 == 0o644,
              "mode not restored")
        check(a.sql("SELECT * FROM baselines") == [], "the agent still holds it")
        check(a.sql("SELECT * FROM enf_journal") == [], "journal rows left")
        r = report(s, a.device)
        check(r["status"] == "removed" and not r["assigned"], r)
        check(results_of(s, a.device)["ssh-root"]["result"] == "REPAIRED", "restore result")
        check(a.status()["compliance"]["baselines"] == 0, a.status())
        # Nothing assigned, nothing held: the next check-in changes nothing.
        a.cli("checkin")
        check(read(sshd) == SSHD, "changed again")
        s.cli("baseline", "unassign", "it-base", a.device, rc=1)
    finally:
        s.stop()


def case_selective_wipe(tmp):
    """selective_wipe under the daemon (drift watchers on): every restore_on_removal setting
    gets its prior state back and drift repair stops, the managed artifacts go and nothing
    else does, the result carries a receipt the device key signed, which the service
    verifies and `device show` prints, and the device then unenrolls."""
    s = Server(tmp).start()
    a = None
    try:
        a = new_agent(tmp, s, checkin_interval=600)
        put_assign(s, baseline(tmp, "enforce", restore=True), "it-base", a.device)
        a.start()
        wait_until(lambda: (lambda x: x if x and x["status"] == "compliant" else None)(
            report(s, a.device)), 15, what="the first compliance report")
        a.proc.wait_for("watching for drift", 10)
        sshd = os.path.join(a.root, "etc/ssh/sshd_config")
        check("PermitRootLogin no" in read(sshd), "not applied")
        # A file Ward put there (as a later kind will register it) and one it did not.
        write(os.path.join(a.root, "etc/ward-managed.conf"), "managed\n")
        write(os.path.join(a.root, "etc/users-own.conf"), "mine\n")
        a.sql("INSERT INTO managed_artifacts(kind, name, added_at) VALUES ('file',"
              " '/etc/ward-managed.conf', 0)")
        cid = s.cli_json("command", "send", a.device, "selective-wipe")["command_id"]
        c = final(s, cid)
        check(c["status"] == "succeeded", c)
        out = c["result"]["output"]
        check(out["failed"] == 0 and out["removed"] == 3, out)
        receipt = json.loads(out["receipt"])
        names = sorted(x["name"] for x in receipt["removed"])
        check(names == ["/etc/ward-managed.conf", "it-base/key-mode", "it-base/ssh-root"],
              receipt)
        check(read(sshd) == SSHD, "not restored: %r" % read(sshd))
        check(os.stat(os.path.join(a.root, "etc/app.key")).st_mode & 0o777 == 0o644,
              "mode not restored")
        check(not os.path.exists(os.path.join(a.root, "etc/ward-managed.conf")),
              "a managed file was left")
        check(read(os.path.join(a.root, "etc/users-own.conf")) == "mine\n",
              "a file Ward did not put there was touched")
        # Drift repair is off: an edit stays.
        write(sshd, SSHD + "# edited\n")
        dev = s.cli_json("device", "show", a.device)
        w = dev["wipe_receipt"]
        check(w["verified"] is True and w["command_id"] == cid, w)
        text = s.cli("device", "show", a.device).stdout
        check("selective wipe:" in text and "(verified)" in text
              and "removed file     /etc/ward-managed.conf" in text, text)
        wait_until(lambda: not a.status()["enrolled"], 15, what="the unenrollment")
        time.sleep(1)
        check(read(sshd) == SSHD + "# edited\n", "enforced again after the selective wipe")
        rc = a.stop()
        check(rc == 0, "ward run exited %s" % rc)
        a = None
    finally:
        if a:
            a.stop(signal.SIGKILL)
        s.stop()


def case_selective_wipe_profiles(tmp):
    """A Wi-Fi profile from a baseline without restore_on_removal: unassigning would leave
    it, but a selective wipe removes it (the credentials Ward installed go with Ward) and
    lists it in the receipt; its pre-shared key appears nowhere in the result; a line
    setting without restore_on_removal stays as it is."""
    s = Server(tmp).start()
    a = None
    psk = "correct horse battery staple"
    try:
        a = new_agent(tmp, s, checkin_interval=600)
        path = os.path.join(tmp, "it-net.json")
        with open(path, "w") as f:
            json.dump({"id": "it-net", "version": 1, "mode": "enforce", "settings": [
                {"id": "wifi", "kind": "wifi", "name": "Corp WiFi", "ssid": "CorpNet",
                 "security": "wpa2-personal", "psk": psk},
                {"id": "motd", "kind": "line", "path": "/etc/motd", "line": "Wiped? No."}]}, f)
        put_assign(s, path, "it-net", a.device)
        a.start()
        wait_until(lambda: (lambda x: x if x and x["status"] == "compliant" else None)(
            report(s, a.device, "it-net")), 15, what="the first compliance report")
        conns = os.path.join(a.root, "etc/NetworkManager/system-connections")
        files = os.listdir(conns)
        check(len(files) == 1 and files[0].endswith(".nmconnection"), files)
        prof = os.path.join(conns, files[0])
        check(os.stat(prof).st_mode & 0o777 == 0o600 and "ssid=CorpNet" in read(prof), prof)
        cid = s.cli_json("command", "send", a.device, "selective-wipe")["command_id"]
        c = final(s, cid)
        check(c["status"] == "succeeded", c)
        receipt = json.loads(c["result"]["output"]["receipt"])
        names = sorted(x["name"] for x in receipt["removed"])
        check("it-net/wifi" in names and "it-net/motd" not in names, receipt)
        check(not os.path.exists(prof), "the Wi-Fi profile was left: %s" % os.listdir(conns))
        check("Wiped? No." in read(os.path.join(a.root, "etc/motd")),
              "a setting without restore_on_removal was undone")
        check(psk not in json.dumps(c), "the pre-shared key is in the command's result")
        rc = a.stop()
        check(rc == 0, "ward run exited %s" % rc)
        a = None
    finally:
        if a:
            a.stop(signal.SIGKILL)
        s.stop()


def case_tampered_refused(tmp):
    s = Server(tmp).start()
    try:
        a = new_agent(tmp, s)
        put_assign(s, baseline(tmp, "enforce"), "it-base", a.device)
        # The stored bytes change, the hash the check-in announces does not.
        s.sql("UPDATE baselines SET document = CAST(replace(CAST(document AS TEXT),"
              " '\"no\"', '\"yes\"') AS BLOB)")
        before = mtimes(a.root)
        a.cli("checkin")
        check(mtimes(a.root) == before, "a refused document changed files")
        check(a.sql("SELECT * FROM baselines") == [], "the agent stored a tampered document")
        err = a.status()["last_error"]
        check("sha256 mismatch" in err and "it-base" in err, err)
        check(report(s, a.device)["status"] == "not_reported", report(s, a.device))
    finally:
        s.stop()


def case_version_bump(tmp):
    s = Server(tmp).start()
    try:
        a = new_agent(tmp, s)
        put_assign(s, baseline(tmp, "audit"), "it-base", a.device)
        a.cli("checkin")
        check(a.sql("SELECT version FROM baselines") == [(1,)], "v1")
        extra = [{"id": "banner", "kind": "line", "path": "/etc/issue.net",
                  "line": "Authorized use only"}]
        s.cli("baseline", "put", baseline(tmp, "audit", version=2, extra=extra))
        r = report(s, a.device)
        check(r["status"] == "outdated" and r["latest_version"] == 2, r)
        check(s.cli_json("compliance")[0]["not_reported"] == 1, "summary before the fetch")
        a.cli("checkin")
        check(a.sql("SELECT version FROM baselines") == [(2,)], a.sql("SELECT * FROM baselines"))
        r = report(s, a.device)
        check(r["version"] == 2 and r["results"]["FAILED"] == 3, r)
        check("banner" in results_of(s, a.device), "v2 setting missing")
        # Only a higher version may be stored.
        r2 = s.cli("baseline", "put", baseline(tmp, "audit", version=2), rc=1)
        check("not above the stored version 2" in r2.stderr, r2.stderr)
    finally:
        s.stop()


def case_fleet_summary(tmp):
    s = Server(tmp).start()
    try:
        good = new_agent(tmp, s, "good")
        bad = new_agent(tmp, s, "bad")
        make_root(good, SSHD.replace("yes", "no"), 0o600)
        late = new_agent(tmp, s, "late")
        put_assign(s, baseline(tmp, "audit"), "it-base", "--all")
        good.cli("checkin")
        bad.cli("checkin")
        summ = s.cli_json("compliance")
        check(len(summ) == 1, summ)
        b = summ[0]
        check(b["id"] == "it-base" and b["devices"] == 3 and b["compliant"] == 1 and
              b["non_compliant"] == 1 and b["not_reported"] == 1, b)
        check(b["results"] == {"KEPT": 4, "REPAIRED": 0, "FAILED": 2, "DENIED": 0,
                               "SKIPPED": 0}, b["results"])
        out = s.cli("compliance").stdout
        check("it-base" in out and "4/0/2/0/0" in out, out)
        check(report(s, good.device)["failing"] == [], report(s, good.device))
        check(report(s, late.device)["status"] == "not_reported", report(s, late.device))
        # A device that enrolls later gets a fleet-wide assignment too.
        late.cli("checkin")
        b = s.cli_json("compliance")[0]
        check(b["not_reported"] == 0 and b["non_compliant"] == 2, b)
        lst = s.cli_json("baseline", "list")
        check(lst[0]["assigned"] == ["*"] and lst[0]["settings"] == 3, lst)
        s.cli("baseline", "unassign", "it-base", "--all")
        check(s.cli_json("compliance")[0]["devices"] == 0, s.cli_json("compliance"))
    finally:
        s.stop()


def case_put_validation(tmp):
    s = Server(tmp)

    def put(text, rc=1):
        p = os.path.join(tmp, "doc.json")
        with open(p, "w") as f:
            f.write(text)
        return s.cli("baseline", "put", p, rc=rc).stderr

    check("line 1" in put('{"id": "x", "version": 1, "settings": [}'), "bad JSON")
    check("$.id: missing" in put('{"version": 1, "settings": []}'), "missing id")
    check("$.version" in put('{"id": "x", "version": "1", "settings": []}'), "version type")
    check("$.version" in put('{"id": "x", "version": 0, "settings": []}'), "version 0")
    check("$.settings" in put('{"id": "x", "version": 1}'), "missing settings")
    check("$.settings[0].kind" in put('{"id": "x", "version": 1, "settings": [{"id": "a"}]}'),
          "setting without kind")
    check("duplicate setting id" in put('{"id": "x", "version": 1, "settings": ['
                                        '{"id": "a", "kind": "file"}, {"id": "a", "kind": "file"}]}'),
          "duplicate setting")
    check("$.id" in put('{"id": "../x", "version": 1, "settings": []}'), "bad id")
    check("duplicate" in put('{"id": "x", "id": "y", "version": 1, "settings": []}').lower(),
          "duplicate key")
    check("$.mode" in put('{"id": "x", "version": 3, "mode": "fix", "settings": []}'), "mode")
    put('{"id": "x", "version": 3, "settings": []}', rc=0)
    check("not above the stored version 3" in put('{"id": "x", "version": 2, "settings": []}'),
          "lower version")
    check("not above" in put('{"id": "x", "version": 3, "settings": []}'), "same version")
    put('{"id": "x", "version": 4, "settings": []}', rc=0)
    check(s.cli_json("baseline", "list")[0]["versions"] == 2, s.cli_json("baseline", "list"))
    s.cli("baseline", "assign", "nope", "--all", rc=1)
    s.cli("baseline", "frobnicate", rc=2)
    check(len(s.sql("SELECT * FROM events WHERE kind = 'baseline_put'")) == 2, "events")


def case_server_routes(tmp):
    """The device endpoints directly, with an openssl-made device."""
    s = Server(tmp).start()
    try:
        dev, cert, key = enroll_direct(s, tmp, s.token())
        other, ocert, okey = enroll_direct(s, tmp, s.token(), "other")
        path = baseline(tmp, "audit")
        s.cli("baseline", "put", path)
        s.cli("baseline", "assign", "it-base", dev)

        def call(method, p, body=None, c=cert, k=key):
            return https(s, method, p, body, cert=c, key=k)

        st, body = call("POST", "/api/v1/checkin", {})
        check(st == 200 and len(body["baselines"]) == 1, body)
        want = body["baselines"][0]
        check(want["id"] == "it-base" and want["version"] == 1, want)
        st, doc = call("GET", "/api/v1/baselines/it-base?version=1")
        check(st == 200 and doc == json.load(open(path)), (st, doc))
        import hashlib
        check(want["sha256"] == hashlib.sha256(open(path, "rb").read()).hexdigest(), "hash")
        check(call("GET", "/api/v1/baselines/it-base")[0] == 200, "latest")
        check(call("GET", "/api/v1/baselines/it-base?version=2")[0] == 404, "version 2")
        check(call("GET", "/api/v1/baselines/it-base?version=x")[0] == 400, "bad version")
        check(call("GET", "/api/v1/baselines/it-base", c=ocert, k=okey)[0] == 404, "not assigned")
        check(call("GET", "/api/v1/baselines/")[0] == 404, "no id")
        check(call("POST", "/api/v1/baselines/it-base", {})[0] == 405, "method")
        check(https(s, "GET", "/api/v1/baselines/it-base")[0] == 401, "no certificate")
        rep = {"baseline": "it-base", "version": 1, "evaluated_at": "2026-11-28T10:00:00Z",
               "results": [{"id": "ssh-root", "result": "FAILED", "expected": "a",
                            "actual": "b", "error": "not compliant (audit)"}]}
        st, body = call("POST", "/api/v1/compliance", rep)
        check(st == 200 and body == {"stored": True}, (st, body))
        st, body = call("POST", "/api/v1/compliance", rep)  # idempotent
        check(st == 200 and body == {"stored": True}, (st, body))
        older = dict(rep, evaluated_at="2026-11-28T09:00:00Z", results=[])
        st, body = call("POST", "/api/v1/compliance", older)
        check(st == 200 and body == {"stored": False}, (st, body))
        check(report(s, dev)["results"]["FAILED"] == 1, "an older report replaced a newer one")
        for bad in ({"baseline": "it-base"}, dict(rep, results=[{"id": "x", "result": "MEH"}]),
                    dict(rep, evaluated_at="yesterday"), dict(rep, version=0),
                    dict(rep, results=[{"id": "x", "result": "KEPT", "actual": 3}])):
            st, body = call("POST", "/api/v1/compliance", bad)
            check(st == 400 and body["error"]["code"] == "bad_request", (bad, st, body))
        st, body = call("POST", "/api/v1/compliance", dict(rep, baseline="unknown"))
        check(st == 409 and body["error"]["code"] == "conflict", (st, body))
    finally:
        s.stop()


def case_content_by_sha256(tmp):
    """A file setting whose content is named by SHA-256 gets it from the service's file
    store over the agent's session, and so does a trust_root named by hash (installed for
    Firefox, kept on the next run); content the service does not have fails the setting;
    bytes that do not match the hash (the stored copy altered on the server) are refused and
    the file is left as it was."""
    s = Server(tmp).start()
    try:
        a = new_agent(tmp, s)
        data = b"# managed by Ward\nlevel = 7\n" + bytes(range(256))
        src = os.path.join(tmp, "app.conf")
        with open(src, "wb") as f:
            f.write(data)
        sha = s.cli_json("file", "add", src)["sha256"]
        missing = "ab" * 32
        ca = os.path.join(tmp, "corp-root.pem")
        run(["/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca + ".key", "-out", ca, "-days",
             "30", "-subj", "/CN=Corp Root By Hash", "-addext",
             "basicConstraints=critical,CA:TRUE"], check_rc=0)
        ca_sha = s.cli_json("file", "add", ca)["sha256"]
        path = os.path.join(tmp, "it-content.json")
        with open(path, "w") as f:
            json.dump({"id": "it-content", "version": 1, "mode": "enforce", "settings": [
                {"id": "conf", "kind": "file", "path": "/etc/app.conf", "content_sha256": sha,
                 "mode": "0640"},
                {"id": "gone", "kind": "file", "path": "/etc/gone.conf",
                 "content_sha256": missing},
                {"id": "root", "kind": "trust_root", "certificate_sha256": ca_sha,
                 "stores": ["firefox"]}]}, f)
        put_assign(s, path, "it-content", a.device)
        a.cli("checkin")
        r = results_of(s, a.device, "it-content")
        check(r["conf"]["result"] == "REPAIRED", r["conf"])
        dest = os.path.join(a.root, "etc/app.conf")
        check(open(dest, "rb").read() == data and os.stat(dest).st_mode & 0o777 == 0o640, dest)
        check(r["gone"]["result"] == "FAILED" and not os.path.exists(
            os.path.join(a.root, "etc/gone.conf")), r["gone"])
        # a trust root named by hash: fetched, checked as a CA, installed for Firefox
        check(r["root"]["result"] == "REPAIRED", r["root"])
        pol = json.load(open(os.path.join(a.root, "etc/firefox/policies/policies.json")))
        check(pol["policies"]["Certificates"]["Install"] ==
              ["/usr/local/share/ward/certificates/root.pem"], pol)
        got = run(["/usr/bin/openssl", "x509", "-noout", "-subject", "-in",
                   os.path.join(a.root, "usr/local/share/ward/certificates/root.pem")],
                  check_rc=0).stdout
        check("Corp Root By Hash" in got, got)
        a.cli("checkin")
        check(results_of(s, a.device, "it-content")["root"]["result"] == "KEPT", "not kept")
        # the server's stored copy altered: the agent refuses what does not hash right
        stored = os.path.join(s.dir, "files", sha)
        os.chmod(stored, 0o600)
        with open(stored, "r+b") as f:
            f.seek(3)
            f.write(b"X")
        with open(dest, "wb") as f:
            f.write(b"drifted\n")
        a.cli("checkin")
        r = results_of(s, a.device, "it-content")
        check(r["conf"]["result"] == "FAILED" and "verif" in r["conf"]["error"], r["conf"])
        check(open(dest, "rb").read() == b"drifted\n", "unverified content was written")
    finally:
        s.stop()


if __name__ == "__main__":
    main({name[5:]: fn for name, fn in globals().items() if name.startswith("case_")})
