#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""client_cert settings end to end: the real ward-server with a certificate profile, a real
`ward` agent that makes its key on the device and enrolls over EST through its own mutual-TLS
session, under a scratch root. What it installed is judged with `openssl` (verify against
chain.pem and against the server's /cacerts, key and certificate match), the server's record
(`ward-server certs`, events), and a Wi-Fi 802.1X profile bound to the setting. Renewal with
60-second certificates under `ward run` (simplereenroll, same key, no periodic run needed),
the expired path (simpleenroll afresh), refusals by the service, a server that is down, and
selective wipe. Usage: test_client_cert.py CASE (WARD_BIN, WARD_SERVER_BIN)."""
import json
import os
import signal
import subprocess
import time

from wardlib import (Agent, Server, check, final, main, run, wait_until, OPENSSL)

FAST = {"backoff_base": 1, "backoff_cap": 2, "connect_timeout": 2}
CERTS = "var/lib/ward/certs"


def put_profile(s, tmp, doc):
    path = os.path.join(tmp, "profile-%s.json" % doc["id"])
    with open(path, "w") as f:
        json.dump(doc, f)
    s.cli("cert-profile", "put", path)


def new_agent(tmp, s, name="agent", **cfg):
    root = os.path.join(tmp, name, "root")
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    a = Agent(tmp, name, config=dict(FAST, root=root, **cfg))
    a.root = root
    a.enroll(s.token())
    a.device = a.status()["device_id"]
    return a


def put_baseline(s, tmp, device, settings, bid="it-certs", version=1):
    path = os.path.join(tmp, "%s-v%d.json" % (bid, version))
    with open(path, "w") as f:
        json.dump({"id": bid, "version": version, "mode": "enforce", "settings": settings}, f)
    s.cli("baseline", "put", path)
    s.cli("baseline", "assign", bid, device)


def results(s, dev, bid="it-certs"):
    rows = s.sql("SELECT results FROM compliance WHERE device_id = ? AND baseline_id = ?",
                 (dev, bid))
    return {r["id"]: r for r in json.loads(rows[0][0])} if rows else {}


def result_is(s, dev, sid, want, bid="it-certs"):
    r = results(s, dev, bid).get(sid)
    return r if r and r["result"] in want else None


def openssl_out(*args, input=None):
    r = subprocess.run([OPENSSL] + list(args), capture_output=True, text=True, input=input)
    return r.returncode, r.stdout + r.stderr


def pub_of_key(path):
    rc, out = openssl_out("pkey", "-in", path, "-pubout")
    check(rc == 0, out)
    return out


def pub_of_cert(path):
    rc, out = openssl_out("x509", "-in", path, "-noout", "-pubkey")
    check(rc == 0, out)
    return out


def serial_of(path):
    rc, out = openssl_out("x509", "-in", path, "-noout", "-serial")
    check(rc == 0, out)
    return out.strip().split("=", 1)[1].upper()


def cacerts_pem(s, tmp, a):
    """The server's /cacerts, fetched with curl over the device's mutual TLS, as PEM."""
    ident = a.identity()
    cert = os.path.join(tmp, "dev.crt")
    key = os.path.join(tmp, "dev.key")
    with open(cert, "w") as f:
        f.write(ident["device_cert"])
    with open(key, "wb") as f:
        f.write(ident["key_bytes"])
    out = os.path.join(tmp, "cacerts.b64")
    run(["/usr/bin/curl", "-sS", "--fail", "--cacert", s.ca, "--cert", cert, "--key", key,
         "-o", out, s.url + "/.well-known/est/cacerts"], check_rc=0)
    der = os.path.join(tmp, "cacerts.der")
    with open(der, "wb") as f:
        f.write(subprocess.run(["/usr/bin/base64", "-d", "-i", out], capture_output=True,
                               check=True).stdout)
    rc, pem = openssl_out("pkcs7", "-inform", "DER", "-in", der, "-print_certs")
    check(rc == 0, pem)
    path = os.path.join(tmp, "cacerts.pem")
    with open(path, "w") as f:
        f.write(pem)
    return path


def est_events(s, dev):
    rows = s.sql("SELECT kind FROM events WHERE device_id = ? AND kind LIKE 'est_%'"
                 " ORDER BY rowid", (dev,))
    return [r[0] for r in rows]


# ---- cases ----------------------------------------------------------------------------------


def case_enroll_renew(tmp):
    """Enrollment under `ward run`, the files as openssl sees them, the 802.1X profile
    naming them, then renewal of a 60-second certificate on its own (2/3 of the lifetime
    plus jitter: 40 to 46 s): a new serial for the same key, superseded on the server."""
    s = Server(tmp).start()
    a = None
    try:
        put_profile(s, tmp, {"id": "wifi-users", "subject": {"CN": "{device_id}"},
                             "san": {"email": ["{device_id}@corp.example"]},
                             "eku": ["clientAuth"], "lifetime": 60, "key": "ec-p256"})
        a = new_agent(tmp, s, checkin_interval=600)
        put_baseline(s, tmp, a.device, [
            {"id": "user-cert", "kind": "client_cert", "profile": "wifi-users"},
            {"id": "wifi-8021x", "kind": "wifi", "name": "Corp 802.1X", "ssid": "CorpSecure",
             "security": "wpa2-enterprise", "eap": "tls", "identity": "device",
             "ca_cert_path": "/etc/ssl/certs/radius-ca.pem", "client_cert": "user-cert"}])
        a.start()
        r = wait_until(lambda: result_is(s, a.device, "user-cert", ("REPAIRED", "KEPT")), 20,
                       what="the client_cert setting applied")
        check(r["result"] == "REPAIRED", r)
        d = os.path.join(a.root, CERTS, "user-cert")
        key, cert, chain = (os.path.join(d, n) for n in ("key.pem", "cert.pem", "chain.pem"))
        st = os.stat(key)
        check(st.st_mode & 0o777 == 0o600 and st.st_uid == 0, oct(st.st_mode))
        check(os.stat(cert).st_mode & 0o777 == 0o644, oct(os.stat(cert).st_mode))
        check(pub_of_key(key) == pub_of_cert(cert), "cert.pem is not for key.pem")
        rc, out = openssl_out("verify", "-CAfile", chain, "-purpose", "sslclient", cert)
        check(rc == 0, out)
        rc, out = openssl_out("verify", "-CAfile", cacerts_pem(s, tmp, a), cert)
        check(rc == 0, "not issued by the server's EST CA: " + out)
        rc, text = openssl_out("x509", "-in", cert, "-noout", "-text")
        check(("email:%s@corp.example" % a.device) in text and "TLS Web Client" in text, text)
        serial1 = serial_of(cert)
        rows = s.cli_json("certs", a.device)
        check(len(rows) == 1 and rows[0]["serial"] == serial1 and rows[0]["state"] == "valid",
              rows)
        marker = open(os.path.join(d, "ward-profile")).read().split("\n")
        check(marker[0] == "wifi-users" and abs(int(marker[1]) - time.time()) < 30, marker)
        # The Wi-Fi profile names the setting's files.
        conns = os.path.join(a.root, "etc/NetworkManager/system-connections")
        prof = open(os.path.join(conns, os.listdir(conns)[0])).read()
        check("client-cert=/%s/user-cert/cert.pem" % CERTS in prof and
              "private-key=/%s/user-cert/key.pem" % CERTS in prof, prof)
        key_before = pub_of_key(key)

        # Renewal: due 40-46 s after issue; the recheck timer runs it, not a period.
        mark = a.proc.mark()
        wait_until(lambda: serial_of(cert) != serial1, 60, interval=0.5,
                   what="the certificate renewed")
        serial2 = serial_of(cert)
        check(pub_of_key(key) == key_before, "renewal replaced the key")
        check(pub_of_cert(cert) == key_before, "the renewed certificate is for another key")
        rc, out = openssl_out("verify", "-CAfile", chain, cert)
        check(rc == 0, out)
        rows = {x["serial"]: x for x in s.cli_json("certs", a.device)}
        check(rows[serial1]["state"] == "superseded" and
              rows[serial1]["superseded_by"] == serial2 and
              rows[serial2]["renewed_from"] == serial1, rows)
        check(est_events(s, a.device)[:2] == ["est_enroll", "est_reenroll"],
              est_events(s, a.device))
        log = a.proc.text()[mark:]
        check("renewed the certificate of profile wifi-users" in log, log[-2000:])
        check("BEGIN PRIVATE KEY" not in a.proc.text(), "a key reached the log")
        rc = a.stop()
        check(rc == 0, "ward run exited %s" % rc)
        a = None
    finally:
        if a:
            a.stop(signal.SIGKILL)
        s.stop()


def case_expired(tmp):
    """A certificate that expired while the agent was not running is enrolled afresh
    (simpleenroll, not simplereenroll) with the key the device already has."""
    s = Server(tmp).start()
    try:
        put_profile(s, tmp, {"id": "short", "subject": {"CN": "{device_id}"}, "lifetime": 60})
        a = new_agent(tmp, s)
        put_baseline(s, tmp, a.device,
                     [{"id": "c", "kind": "client_cert", "profile": "short"}])
        a.cli("checkin")
        check(result_is(s, a.device, "c", ("REPAIRED",)), results(s, a.device))
        cert = os.path.join(a.root, CERTS, "c", "cert.pem")
        key = os.path.join(a.root, CERTS, "c", "key.pem")
        serial1, pub1 = serial_of(cert), pub_of_key(key)
        a.cli("checkin")
        check(result_is(s, a.device, "c", ("KEPT",)), results(s, a.device))
        rc, out = openssl_out("x509", "-in", cert, "-noout", "-enddate")
        wait_until(lambda: openssl_out("x509", "-in", cert, "-noout", "-checkend", "0")[0] != 0,
                   75, interval=1, what="the certificate to expire")
        a.cli("checkin")
        r = results(s, a.device)["c"]
        check(r["result"] == "REPAIRED", r)
        check(serial_of(cert) != serial1 and pub_of_key(key) == pub1, "not re-enrolled")
        check(est_events(s, a.device) == ["est_enroll", "est_enroll"], est_events(s, a.device))
    finally:
        s.stop()


def case_refused(tmp):
    """The service's refusals in the setting's error, nothing written: an unknown profile,
    a key type the profile does not allow. Then the server down: a transport error, and
    the certificate already there is kept."""
    s = Server(tmp).start()
    try:
        put_profile(s, tmp, {"id": "rsa-only", "subject": {"CN": "{device_id}"},
                             "lifetime": "1d", "key": "rsa-2048"})
        put_profile(s, tmp, {"id": "ok", "subject": {"CN": "{device_id}"}, "lifetime": "1d"})
        a = new_agent(tmp, s)
        put_baseline(s, tmp, a.device, [
            {"id": "nope", "kind": "client_cert", "profile": "no-such-profile"},
            {"id": "ec", "kind": "client_cert", "profile": "rsa-only"},
            {"id": "rsa", "kind": "client_cert", "profile": "rsa-only", "key_type": "rsa-2048"},
            {"id": "good", "kind": "client_cert", "profile": "ok"}])
        a.cli("checkin")
        r = results(s, a.device)
        check(r["nope"]["result"] == "FAILED" and "404" in r["nope"]["error"] and
              "no such certificate profile" in r["nope"]["error"], r["nope"])
        check(r["ec"]["result"] == "FAILED" and "is not allowed by profile" in r["ec"]["error"],
              r["ec"])
        check(r["rsa"]["result"] == "REPAIRED" and r["good"]["result"] == "REPAIRED", r)
        for sid in ("nope", "ec"):
            check(not os.path.exists(os.path.join(a.root, CERTS, sid)),
                  "files written for a refused enrollment: " + sid)
        rc, text = openssl_out("x509", "-in", os.path.join(a.root, CERTS, "rsa", "cert.pem"),
                               "-noout", "-text")
        check("Public-Key: (2048 bit)" in text and "rsaEncryption" in text, text)
        good = os.path.join(a.root, CERTS, "good", "cert.pem")
        serial = serial_of(good)
        # Down: ward checkin fails to reach it; nothing is lost.
        s.stop()
        a.cli("checkin", rc=None)
        check(serial_of(good) == serial, "the valid certificate was touched")
    finally:
        s.stop()


def case_selective_wipe(tmp):
    """A selective wipe removes the key and certificate Ward enrolled (restore_on_removal
    not set) and lists the setting in its receipt."""
    s = Server(tmp).start()
    a = None
    try:
        put_profile(s, tmp, {"id": "ok", "subject": {"CN": "{device_id}"}, "lifetime": "1d"})
        a = new_agent(tmp, s, checkin_interval=600)
        put_baseline(s, tmp, a.device, [{"id": "c", "kind": "client_cert", "profile": "ok"}])
        a.start()
        wait_until(lambda: result_is(s, a.device, "c", ("REPAIRED", "KEPT")), 20,
                   what="the client_cert setting applied")
        d = os.path.join(a.root, CERTS, "c")
        check(os.path.exists(os.path.join(d, "key.pem")), os.listdir(d))
        cid = s.cli_json("command", "send", a.device, "selective-wipe")["command_id"]
        c = final(s, cid)
        check(c["status"] == "succeeded", c)
        receipt = json.loads(c["result"]["output"]["receipt"])
        check("it-certs/c" in [x["name"] for x in receipt["removed"]], receipt)
        check(not os.path.exists(d), "left: %s" % (os.listdir(d) if os.path.exists(d) else ""))
        check(os.path.isdir(os.path.join(a.root, CERTS)), "removed more than its own directory")
        rc = a.stop()
        check(rc == 0, "ward run exited %s" % rc)
        a = None
    finally:
        if a:
            a.stop(signal.SIGKILL)
        s.stop()


if __name__ == "__main__":
    main({"enroll_renew": case_enroll_renew, "expired": case_expired, "refused": case_refused,
          "selective_wipe": case_selective_wipe})
