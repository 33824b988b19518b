#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""EST (RFC 7030) in ward-server, checked with tools Ward did not write: a real server over
real TLS on loopback, a device enrolled by the real agent, and plain `curl --cert/--key
--cacert` with `openssl req` CSRs against /.well-known/est/; the answers are decoded and
read with `openssl pkcs7`, `openssl x509` and `openssl verify`. Also reenrollment,
revocation, 60-second certificates, bad input and profile validation.
Usage: test_est.py CASE (WARD_BIN, WARD_SERVER_BIN)."""
import base64
import datetime
import json
import os
import re
import subprocess
import time

from wardlib import (Agent, Server, check, enroll_direct, main, run, OPENSSL)

CURL = "/usr/bin/curl"
EST = "/.well-known/est"

WIFI = {"id": "wifi-users",
        "subject": {"CN": "{device_id}", "O": "Example"},
        "san": {"dns": ["{hostname}.corp.example"],
                "email": ["{device_id}@corp.example"],
                "upn": ["{device_id}@corp.example"]},
        "eku": ["clientAuth", "serverAuth", "emailProtection"],
        "lifetime": "90d",
        "key": "ec-p256"}


def put_profile(s, tmp, doc, rc=0):
    path = os.path.join(tmp, "profile.json")
    with open(path, "w") as f:
        f.write(doc if isinstance(doc, str) else json.dumps(doc))
    return s.cli("cert-profile", "put", path, rc=rc)


class Device:
    """The client side: a device certificate and key, and curl."""

    def __init__(self, s, tmp, cert, key, device_id):
        self.s, self.tmp, self.cert, self.key, self.id = s, tmp, cert, key, device_id

    def curl(self, method, path, body=None, ctype="application/pkcs10", auth=True,
             headers=()):
        """(status, headers text, body bytes) of one request with plain curl."""
        out = os.path.join(self.tmp, "curl.out")
        hdr = os.path.join(self.tmp, "curl.hdr")
        argv = [CURL, "-sS", "--cacert", self.s.ca, "-o", out, "-D", hdr,
                "-w", "%{http_code}", "-X", method]
        if auth:
            argv += ["--cert", self.cert, "--key", self.key]
        if body is not None:
            bf = os.path.join(self.tmp, "curl.body")
            with open(bf, "wb") as f:
                f.write(body)
            argv += ["--data-binary", "@" + bf]
            if ctype:
                argv += ["-H", "Content-Type: " + ctype]
        for h in headers:
            argv += ["-H", h]
        argv.append(self.s.url + path)
        r = subprocess.run(argv, capture_output=True, timeout=30)
        check(r.returncode == 0, "curl failed: %s" % r.stderr.decode())
        return int(r.stdout), open(hdr).read(), open(out, "rb").read()

    def enroll(self, profile, csr_der, op="simpleenroll"):
        return self.curl("POST", "%s/%s/%s" % (EST, profile, op),
                         base64.encodebytes(csr_der))


def make_csr(tmp, name, newkey=("ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
             subj="/CN=whatever-the-client-asks"):
    """A CSR from `openssl req -new -newkey ...`; returns (key path, DER bytes)."""
    key = os.path.join(tmp, name + ".key")
    der = os.path.join(tmp, name + ".csr.der")
    run([OPENSSL, "req", "-new", "-newkey", newkey[0]] + list(newkey[1:]) +
        ["-nodes", "-keyout", key, "-subj", subj, "-outform", "DER", "-out", der], check_rc=0)
    return key, open(der, "rb").read()


def p7_certs(tmp, b64body, name="answer"):
    """Decodes a base64 certs-only PKCS#7 with openssl; returns the PEM certificates."""
    der = os.path.join(tmp, name + ".p7.der")
    with open(der, "wb") as f:
        f.write(base64.b64decode(b64body, validate=False))
    r = run([OPENSSL, "pkcs7", "-inform", "DER", "-in", der, "-print_certs"], check_rc=0)
    pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", r.stdout,
                      re.S)
    # certs-only: no signer infos (RFC 7030 4.1.3).
    r = run([OPENSSL, "pkcs7", "-inform", "DER", "-in", der, "-print"], check_rc=0)
    check(re.search(r"signer_info:\s*<EMPTY>", r.stdout), "signer infos present:\n" + r.stdout)
    return pems


def x509_text(tmp, pem, name="cert"):
    path = os.path.join(tmp, name + ".pem")
    with open(path, "w") as f:
        f.write(pem + "\n")
    return path, run([OPENSSL, "x509", "-in", path, "-noout", "-text"], check_rc=0).stdout


def x509_field(path, opt):
    return run([OPENSSL, "x509", "-in", path, "-noout", opt], check_rc=0).stdout.strip()


def not_after(path):
    v = x509_field(path, "-enddate").split("=", 1)[1]
    return datetime.datetime.strptime(v, "%b %d %H:%M:%S %Y GMT").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def agent_device(s, tmp):
    """A device enrolled by the real agent; its key and certificate files for curl."""
    a = Agent(tmp)
    a.enroll(s.token())
    dev = a.meta("device_id")
    key = os.path.join(a.state, a.meta("device_key"))
    cert = os.path.join(tmp, "agent-device.pem")
    with open(cert, "w") as f:
        f.write(a.meta("device_cert"))
    # The hostname the service knows is the one a profile's {hostname} expands to.
    s.sql("UPDATE devices SET hostname = 'laptop-42' WHERE device_id = ?", (dev,))
    return Device(s, tmp, cert, key, dev)


def direct_device(s, tmp, name="dev"):
    dev, cert, key = enroll_direct(s, tmp, s.token(), name)
    s.sql("UPDATE devices SET hostname = ? WHERE device_id = ?", (name, dev))
    return Device(s, tmp, cert, key, dev)


def case_interop(tmp):
    s = Server(tmp)
    put_profile(s, tmp, WIFI)
    s.start()
    try:
        d = agent_device(s, tmp)
        # cacerts: the issuing CA, nothing else.
        st, hdrs, body = d.curl("GET", EST + "/cacerts", auth=True)
        check(st == 200, (st, body))
        check(re.search(r"(?im)^content-type: application/pkcs7-mime\s*$", hdrs), hdrs)
        check(re.search(r"(?im)^content-transfer-encoding: base64\s*$", hdrs), hdrs)
        ca_pems = p7_certs(tmp, body, "cacerts")
        check(len(ca_pems) == 1, ca_pems)
        cacerts = os.path.join(tmp, "cacerts.pem")
        with open(cacerts, "w") as f:
            f.write(ca_pems[0] + "\n")
        check("Ward Issuing CA" in x509_field(cacerts, "-subject"), x509_field(cacerts, "-subject"))
        check(x509_field(cacerts, "-fingerprint") !=
              run([OPENSSL, "x509", "-in", s.ca, "-noout", "-fingerprint"]).stdout.strip(),
              "cacerts is the service CA")
        # The labelled form answers the same.
        st, _, body2 = d.curl("GET", EST + "/wifi-users/cacerts")
        check(st == 200 and p7_certs(tmp, body2, "cacerts2") == ca_pems, st)

        key, der = make_csr(tmp, "wifi")
        t0 = time.time()
        st, hdrs, body = d.enroll("wifi-users", der)
        check(st == 200, (st, body))
        check(re.search(r"(?im)^content-type: application/pkcs7-mime; *smime-type=certs-only\s*$",
                        hdrs), hdrs)
        check(re.search(r"(?im)^content-transfer-encoding: base64\s*$", hdrs), hdrs)
        pems = p7_certs(tmp, body)
        check(len(pems) == 1, "the answer holds more than the issued certificate: %d" % len(pems))
        path, text = x509_text(tmp, pems[0], "issued")
        # Byte for byte what openssl itself makes as a certs-only PKCS#7 of that certificate.
        ref = subprocess.run([OPENSSL, "crl2pkcs7", "-nocrl", "-certfile", path, "-outform",
                              "DER"], capture_output=True, check=True).stdout
        check(base64.b64decode(body) == ref, "PKCS#7 differs from openssl crl2pkcs7's")
        # Names come from the profile and the device record, not from the CSR.
        subj = x509_field(path, "-subject")
        check("CN = %s" % d.id in subj and "O = Example" in subj, subj)
        check("whatever-the-client-asks" not in text, "the CSR's subject was used")
        check("DNS:laptop-42.corp.example" in text, text)
        check("email:%s@corp.example" % d.id in text, text)
        check(re.search(r"othername: ?(UPN|1\.3\.6\.1\.4\.1\.311\.20\.2\.3)[:;]+ ?%s@corp\.example"
                        % re.escape(d.id), text), "no UPN otherName:\n" + text)
        # ... as otherName [0] { OID 1.3.6.1.4.1.311.20.2.3, [0] { UTF8String } }.
        raw = subprocess.run([OPENSSL, "x509", "-in", path, "-outform", "DER"],
                             capture_output=True, check=True).stdout
        upn = ("%s@corp.example" % d.id).encode()
        oid = bytes.fromhex("060a2b060104018237140203")
        check(oid + bytes([0xa0, len(upn) + 2, 0x0c, len(upn)]) + upn in raw,
              "the UPN is not an otherName UTF8String")
        check(re.search(r"TLS Web Client Authentication, TLS Web Server Authentication, "
                        r"E-mail Protection", text), text)
        check("CA:FALSE" in text, text)
        check("Ward Issuing CA" in x509_field(path, "-issuer"), x509_field(path, "-issuer"))
        na = not_after(path)
        check(abs(na - (t0 + 90 * 86400)) < 120, "notAfter %s is not 90 days away" % na)
        # The public key is the CSR's.
        pub_csr = run([OPENSSL, "pkey", "-in", key, "-pubout"], check_rc=0).stdout
        pub_cert = run([OPENSSL, "x509", "-in", path, "-noout", "-pubkey"], check_rc=0).stdout
        check(pub_csr == pub_cert, "certificate key is not the CSR's")
        # Verifies against /cacerts, and not against the service CA.
        r = run([OPENSSL, "verify", "-CAfile", cacerts, "-purpose", "sslclient", path])
        check(r.returncode == 0 and ": OK" in r.stdout, r.stdout + r.stderr)
        r = run([OPENSSL, "verify", "-CAfile", s.ca, path])
        check(r.returncode != 0, "verified against the service CA")
        # The issued certificate is no device certificate: the service refuses it for mTLS.
        r = subprocess.run([CURL, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                            s.ca, "--cert", path, "--key", key, s.url + EST + "/cacerts"],
                           capture_output=True, timeout=30)
        check(r.returncode != 0 or r.stdout.strip() != b"200",
              "an EST certificate passed as a device certificate")

        # Recorded, listed with expiry, as JSON and as a table.
        rows = s.cli_json("certs", d.id)
        serial = x509_field(path, "-serial").split("=", 1)[1]
        check(len(rows) == 1 and rows[0]["serial"] == serial and rows[0]["profile"] ==
              "wifi-users" and rows[0]["state"] == "valid" and rows[0]["device_id"] == d.id, rows)
        check("CN=%s" % d.id in rows[0]["subject"], rows)
        out = s.cli("certs").stdout
        check(serial in out and ("in 89d" in out or "in 90d" in out), out)

        # simplereenroll with the same device: new key, the old certificate superseded.
        key2, der2 = make_csr(tmp, "wifi2")
        st, _, body = d.enroll("wifi-users", der2, "simplereenroll")
        check(st == 200, (st, body))
        pems2 = p7_certs(tmp, body, "re")
        path2, text2 = x509_text(tmp, pems2[0], "reissued")
        serial2 = x509_field(path2, "-serial").split("=", 1)[1]
        check(serial2 != serial and "DNS:laptop-42.corp.example" in text2, text2)
        r = run([OPENSSL, "verify", "-CAfile", cacerts, path2])
        check(r.returncode == 0, r.stdout + r.stderr)
        rows = {x["serial"]: x for x in s.cli_json("certs", d.id)}
        check(rows[serial]["state"] == "superseded" and rows[serial]["superseded_by"] == serial2,
              rows)
        check(rows[serial2]["state"] == "valid" and rows[serial2]["renewed_from"] == serial, rows)
        kinds = [k for (k,) in s.sql("SELECT kind FROM events WHERE device_id = ?", (d.id,))]
        check("est_enroll" in kinds and "est_reenroll" in kinds, kinds)
    finally:
        s.stop()


def case_reenroll_revoke(tmp):
    s = Server(tmp)
    put_profile(s, tmp, dict(WIFI, id="vpn", san={"dns": ["{hostname}.vpn.example"]}))
    s.start()
    try:
        d = direct_device(s, tmp, "host1")
        key, der = make_csr(tmp, "a")
        # Nothing of the profile to renew yet.
        st, hdrs, body = d.enroll("vpn", der, "simplereenroll")
        check(st == 403 and b"no unrevoked certificate" in body, (st, body))
        check(re.search(r"(?im)^content-type: text/plain", hdrs), hdrs)
        st, _, body = d.enroll("vpn", der)
        check(st == 200, (st, body))
        serial = s.cli_json("certs", d.id)[0]["serial"]
        r = s.cli("cert", "revoke", serial.lower())
        check("revoked certificate" in r.stdout, r.stdout)
        r = s.cli("cert", "revoke", serial)
        check("already revoked" in r.stdout, r.stdout)
        s.cli("cert", "revoke", "00DEADBEEF", rc=1)
        row = s.cli_json("certs", d.id)[0]
        check(row["state"] == "revoked" and row["revoked_at"], row)
        # A revoked certificate is not renewed.
        st, _, body = d.enroll("vpn", der, "simplereenroll")
        check(st == 403, (st, body))
        # Another device never renews this device's certificate.
        other = direct_device(s, tmp, "host2")
        st, _, _ = other.enroll("vpn", make_csr(tmp, "o")[1])
        check(st == 200, st)
        st, _, _ = d.enroll("vpn", der, "simplereenroll")
        check(st == 403, st)
        # A fresh simpleenroll works, and that one renews.
        st, _, _ = d.enroll("vpn", der)
        check(st == 200, st)
        st, _, _ = d.enroll("vpn", der, "simplereenroll")
        check(st == 200, st)
        states = sorted(x["state"] for x in s.cli_json("certs", d.id))
        check(states == ["revoked", "superseded", "valid"], states)
        check(len(s.cli_json("certs")) == 4, s.cli("certs").stdout)
        # A revoked device gets nothing.
        s.cli("device", "revoke", d.id)
        st, _, body = d.curl("GET", EST + "/cacerts")
        check(st == 403, (st, body))
        st, _, body = d.enroll("vpn", der)
        check(st == 403, (st, body))
    finally:
        s.stop()


def case_short_lifetime(tmp):
    s = Server(tmp)
    put_profile(s, tmp, {"id": "short", "subject": {"CN": "{device_id}"}, "lifetime": 60})
    s.start()
    try:
        d = direct_device(s, tmp)
        t0 = time.time()
        st, _, body = d.enroll("short", make_csr(tmp, "k")[1])
        check(st == 200, (st, body))
        path, text = x509_text(tmp, p7_certs(tmp, body)[0])
        check(abs(not_after(path) - (t0 + 60)) < 15, "notAfter not 60 s away")
        # Default EKU: clientAuth only; no SAN when the profile names none.
        check("TLS Web Client Authentication" in text and "Server Authentication" not in text,
              text)
        check("Subject Alternative Name" not in text, text)
        rows = s.cli_json("certs")
        check(rows[0]["state"] == "valid", rows)
    finally:
        s.stop()


def case_bad_input(tmp):
    s = Server(tmp)
    put_profile(s, tmp, WIFI)
    s.start()
    try:
        d = direct_device(s, tmp, "badhost")
        path = EST + "/wifi-users/simpleenroll"
        # Not base64.
        st, hdrs, body = d.curl("POST", path, b"this is *not* base64!")
        check(st == 400 and b"not base64" in body, (st, body))
        check(re.search(r"(?im)^content-type: text/plain", hdrs), hdrs)
        # Base64 of garbage.
        st, _, body = d.curl("POST", path, base64.b64encode(os.urandom(300)))
        check(st == 400 and b"PKCS#10" in body, (st, body))
        # Empty body.
        st, _, body = d.curl("POST", path, b"")
        check(st == 400, (st, body))
        # A CSR whose signature was modified (its last byte is inside the signature).
        _, der = make_csr(tmp, "sig")
        bad = bytearray(der)
        bad[-1] ^= 0x01
        st, _, body = d.curl("POST", path, base64.b64encode(bytes(bad)))
        check(st == 400 and b"signature" in body, (st, body))
        # 100 KB body.
        st, _, body = d.curl("POST", path, b"A" * 100000)
        check(st == 413, (st, body))
        # Unknown profile, and path segments that are not a profile id.
        st, _, body = d.enroll("no-such-profile", der)
        check(st == 404 and b"no certificate profile" in body, (st, body))
        st, _, body = d.curl("POST", EST + "/simpleenroll", base64.b64encode(der))
        check(st == 404, (st, body))
        st, _, body = d.curl("POST", EST + "/a/b/simpleenroll", base64.b64encode(der))
        check(st == 404, (st, body))
        st, _, body = d.curl("GET", EST + "/no-such-profile/cacerts")
        check(st == 404, (st, body))
        # Wrong method and content type.
        st, _, body = d.curl("GET", path)
        check(st == 405, (st, body))
        st, _, body = d.curl("POST", path, base64.b64encode(der), ctype="application/json")
        check(st == 415, (st, body))
        # A key type the profile does not allow (RSA; and EC P-384).
        _, rsa = make_csr(tmp, "rsa", ("rsa:2048",))
        st, _, body = d.curl("POST", path, base64.b64encode(rsa))
        check(st == 400 and b"not allowed by profile" in body and b"RSA" in body, (st, body))
        _, p384 = make_csr(tmp, "p384", ("ec", "-pkeyopt", "ec_paramgen_curve:secp384r1"))
        st, _, body = d.curl("POST", path, base64.b64encode(p384))
        check(st == 400 and b"secp384r1" in body, (st, body))
        # No client certificate: 401, for every EST endpoint.
        for m, p, b in (("GET", EST + "/cacerts", None), ("POST", path, base64.b64encode(der)),
                        ("POST", EST + "/wifi-users/simplereenroll", base64.b64encode(der))):
            st, _, body = d.curl(m, p, b, auth=False)
            check(st == 401, (m, p, st, body))
        # A hostname that is not one DNS label cannot be smuggled into a SAN.
        s.sql("UPDATE devices SET hostname = 'evil.example' WHERE device_id = ?", (d.id,))
        st, _, body = d.curl("POST", path, base64.b64encode(der))
        check(st == 400 and b"single DNS label" in body, (st, body))
        s.sql("UPDATE devices SET hostname = NULL WHERE device_id = ?", (d.id,))
        st, _, body = d.curl("POST", path, base64.b64encode(der))
        check(st == 400 and b"hostname" in body, (st, body))
        # Nothing was issued, and the server still serves.
        check(s.cli_json("certs") == [], s.cli("certs").stdout)
        s.sql("UPDATE devices SET hostname = 'badhost' WHERE device_id = ?", (d.id,))
        st, _, body = d.curl("POST", path, base64.b64encode(der))
        check(st == 200, (st, body))
        # A JSON route is unchanged by the raw-body routes.
        st, _, body = d.curl("POST", "/api/v1/checkin", b'{"seq_high": 0}',
                             ctype="application/json")
        check(st == 200, (st, body))
    finally:
        s.stop()


def case_profile_validation(tmp):
    s = Server(tmp)
    bad = [
        ({"id": "p", "subject": {"CN": "x"}, "lifetime": 60, "colour": "red"},
         "$.colour: unknown field"),
        ({"id": "p", "subject": {"CN": "{device}"}, "lifetime": 60},
         "unknown template variable {device}"),
        ({"id": "p", "subject": {"CN": "x}"}, "lifetime": 60}, "unmatched '}'"),
        ({"id": "p", "subject": {"CN": "{hostname"}, "lifetime": 60}, "unmatched '{'"),
        ({"id": "p", "subject": {"O": "x"}, "lifetime": 60}, "$.subject.CN: required"),
        ({"id": "p", "subject": {"CN": "x", "DC": "y"}, "lifetime": 60},
         "unknown subject attribute"),
        ({"id": "p", "subject": {"CN": "x"}, "eku": ["clientAuth", "anyThing"], "lifetime": 60},
         "$.eku[1]: unknown extended key usage"),
        ({"id": "p", "subject": {"CN": "x"}, "eku": ["clientAuth", "clientAuth"],
          "lifetime": 60}, "listed twice"),
        ({"id": "p", "subject": {"CN": "x"}, "lifetime": 59}, "between 60 s and 825 d"),
        ({"id": "p", "subject": {"CN": "x"}, "lifetime": "826d"}, "between 60 s and 825 d"),
        ({"id": "p", "subject": {"CN": "x"}, "lifetime": "90 days"}, "$.lifetime: want"),
        ({"id": "p", "subject": {"CN": "x"}}, "$.lifetime: required"),
        ({"id": "p", "subject": {"CN": "x"}, "lifetime": 60, "key": "rsa-1024"},
         "unknown key type"),
        ({"id": "p", "subject": {"CN": "x"}, "lifetime": 60, "key": []},
         "at least one key type"),
        ({"id": "p", "subject": {"CN": "x"}, "lifetime": 60, "san": {"uri": ["x"]}},
         "unknown SAN type"),
        ({"id": "p", "subject": {"CN": "x"}, "lifetime": 60, "san": {"dns": ["a b.example"]}},
         "is not a DNS name"),
        ({"id": "p", "subject": {"CN": "x"}, "lifetime": 60, "san": {"upn": ["nouser"]}},
         "user@domain"),
        ({"id": "Bad/Id", "subject": {"CN": "x"}, "lifetime": 60}, "is not a profile id"),
        ({"id": "simpleenroll", "subject": {"CN": "x"}, "lifetime": 60}, "is not a profile id"),
        ({"subject": {"CN": "x"}, "lifetime": 60}, "$.id"),
        ('{"id": "p", ', "line 1"),
        ('[1]', "a profile is a JSON object"),
        (json.dumps({"id": "p", "subject": {"CN": "x"}, "lifetime": 60,
                     "description": "x" * 20000}), "larger than 16 KiB"),
    ]
    for doc, want in bad:
        r = put_profile(s, tmp, doc, rc=1)
        check(want in r.stderr, "want %r for %s, got: %s" % (want, str(doc)[:80], r.stderr))
    check(s.cli_json("cert-profile", "list") == [], "a bad profile was stored")
    # A good one: stored normalized; put again updates.
    r = put_profile(s, tmp, WIFI)
    check("created certificate profile wifi-users" in r.stdout, r.stdout)
    shown = s.cli_json("cert-profile", "show", "wifi-users")
    check(shown["lifetime"] == 90 * 86400 and shown["key"] == ["ec-p256"], shown)
    r = put_profile(s, tmp, dict(WIFI, lifetime=3600, key=["ec-p256", "rsa-2048"]))
    check("updated certificate profile wifi-users" in r.stdout, r.stdout)
    lst = s.cli_json("cert-profile", "list")
    check(len(lst) == 1 and lst[0]["lifetime"] == 3600 and lst[0]["key"] == ["ec-p256",
                                                                             "rsa-2048"], lst)
    check("wifi-users" in s.cli("cert-profile", "list").stdout, "table")
    s.cli("cert-profile", "show", "nope", rc=1)
    # The help and the manual page name the verbs.
    for args in (("--help",), ("--man",)):
        out = run([s_bin()] + list(args), check_rc=0).stdout.replace("\\-", "-")
        for verb in ("cert-profile put FILE", "certs [DEVICE]", "cert revoke SERIAL"):
            check(verb in out, "%s lacks %s" % (args, verb))


def s_bin():
    from wardlib import SERVER
    return SERVER


def case_upgrade_creates_issuing_ca(tmp):
    s = Server(tmp)
    for name in ("issuing-ca.pem", "issuing-ca.key"):
        p = os.path.join(s.dir, name)
        check(os.path.exists(p), "init made no " + name)
    check(os.stat(os.path.join(s.dir, "issuing-ca.key")).st_mode & 0o777 == 0o600, "key mode")
    # A data directory from before EST: no issuing CA, no EST tables.
    os.remove(os.path.join(s.dir, "issuing-ca.pem"))
    os.remove(os.path.join(s.dir, "issuing-ca.key"))
    s.sql("DROP TABLE issued_certs")
    s.sql("DROP TABLE cert_profiles")
    s.sql("PRAGMA user_version = 5")
    s.start()
    try:
        s.proc.wait_for("created the issuing CA")
        check(os.stat(os.path.join(s.dir, "issuing-ca.key")).st_mode & 0o777 == 0o600,
              "key mode")
        put_profile(s, tmp, WIFI)
        d = direct_device(s, tmp)
        st, _, body = d.curl("GET", EST + "/cacerts")
        check(st == 200 and len(p7_certs(tmp, body)) == 1, st)
    finally:
        s.stop()
    # The next start reuses it.
    before = open(os.path.join(s.dir, "issuing-ca.pem")).read()
    s.start()
    try:
        check(s.proc.count("created the issuing CA") == 0, "recreated")
    finally:
        s.stop()
    check(open(os.path.join(s.dir, "issuing-ca.pem")).read() == before, "replaced")


if __name__ == "__main__":
    main({k[5:]: v for k, v in globals().items() if k.startswith("case_")})
