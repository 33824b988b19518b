#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The wifi and vpn kinds and the secret field type, with `ward baseline` as a process under
a scratch root (never this machine's /etc, never its NetworkManager: the root is not /, so
Ward does not try the bus). Checked against tools Ward did not write:

- NetworkManager's own keyfile reader and writer: every profile Ward writes goes through
  `nmcli --offline connection modify connection.uuid <its uuid>` (a no-op change) and must
  come back byte for byte, i.e. NetworkManager reads every key as Ward meant it and would
  write the same file; for profiles nmcli can also create, `nmcli --offline connection add`
  with the same properties must print the same bytes;
- GLib's GKeyFile (python3-gi): hostile names and SSIDs (newlines, ';', '=', '[group]',
  backslashes, blanks at the ends, control bytes) add no group and no key, and read back as
  given.

Secrets: after apply, re-apply, check, a failing apply and removal, no secret value appears
in stdout/stderr (debug log level), the --json report, or anywhere in the state directory
(the SQLite journal with its WAL), while the profile file holds it. Plus validation: 33-byte
SSID, a bad PSK (not quoted in the message), a client_cert naming no setting, hostile file
names.

Usage: test_kind_netprofile.py WARD_BINARY"""
import base64
import json
import os
import subprocess
import sys
import tempfile

WARD = sys.argv[1]
NMCLI = "/usr/bin/nmcli"
DIR = "/etc/NetworkManager/system-connections"
FAILS = []

PSK = "Psk;=secret\\v4l"
EAP_PW = "Eap Pw\n=x"
WG_KEY = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
WG_PSK = "QQQz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
WG_PEER = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
OV_PW = "0penvpn-s3cret"
KEY_PW = "k3y-pass-phrase"
SECRETS = [PSK, EAP_PW, WG_KEY, WG_PSK, OV_PW, KEY_PW]

HOSTILE_NAME = " ../../etc/passwd\n[connection]\nuuid=evil;=x\\ "
HOSTILE_SSID = "a;b=c\\d [e] "


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def ward(tmp, *args, doc=None):
    argv = [WARD, "--root", tmp + "/root", "--state-dir", tmp + "/state", "--log-level",
            "debug", "baseline"] + list(args)
    if doc is not None:
        path = tmp + "/doc.json"
        with open(path, "w") as f:
            json.dump(doc, f)
        argv.append(path)
    argv.append("--json")
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return p


def leaks(text):
    return [s for s in SECRETS if s in text or json.dumps(s)[1:-1] in text]


def state_leaks(tmp):
    found = []
    for d, _, files in os.walk(tmp + "/state"):
        for f in files:
            data = open(os.path.join(d, f), "rb").read()
            for s in SECRETS:
                if s.encode() in data or base64.b64encode(s.encode()) in data:
                    found.append((f, s))
    return found


def profile_path(tmp, result):
    exp = result["expected"]
    p = exp[exp.index(DIR):].split(",")[0]
    return tmp + "/root" + p


def nm_roundtrip(path):
    data = open(path, "rb").read()
    uuid = [l for l in data.decode().splitlines() if l.startswith("uuid=")][0][5:]
    p = subprocess.run([NMCLI, "--offline", "connection", "modify", "connection.uuid", uuid],
                       input=data, capture_output=True, timeout=30)
    return p.returncode == 0 and p.stdout.rstrip(b"\n") == data.rstrip(b"\n"), p


def keyfile(path):
    from gi.repository import GLib
    k = GLib.KeyFile()
    data = open(path, "rb").read()
    k.load_from_bytes(GLib.Bytes.new(data), GLib.KeyFileFlags.NONE)
    return k


def main():
    have_nmcli = os.access(NMCLI, os.X_OK)
    try:
        from gi.repository import GLib  # noqa: F401
        have_gi = True
    except ImportError:
        have_gi = False
    if not have_nmcli:
        print("note: %s missing (package network-manager): NetworkManager checks skipped" % NMCLI)
    if not have_gi:
        print("note: python3-gi missing: GKeyFile checks skipped")

    tmp = tempfile.mkdtemp(prefix="ward-netprofile-")
    os.makedirs(tmp + "/root/etc", exist_ok=True)
    os.makedirs(tmp + "/root/certs", exist_ok=True)
    # certificate files nmcli --offline insists on reading
    subprocess.run(["/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", tmp + "/root/certs/k.key",
                    "-out", tmp + "/root/certs/c.pem", "-subj", "/CN=t", "-days", "3"],
                   check=True, capture_output=True)
    ca, cert, key = tmp + "/root/certs/c.pem", tmp + "/root/certs/c.pem", tmp + "/root/certs/k.key"

    settings = [
        {"id": "psk", "kind": "wifi", "name": "Corp WiFi", "ssid": "CorpNet",
         "security": "wpa2-personal", "psk": PSK, "priority": 5, "autoconnect": False,
         "hidden": True, "restore_on_removal": True},
        {"id": "hostile", "kind": "wifi", "name": HOSTILE_NAME, "ssid": HOSTILE_SSID,
         "security": "wpa3-personal", "psk": "12345678"},
        {"id": "bytes", "kind": "wifi", "name": ".hidden", "ssid": "\u00fc\u0001\n",
         "security": "open"},
        {"id": "tls", "kind": "wifi", "name": "Corp 802.1X", "ssid": "CorpSecure",
         "security": "wpa3-enterprise", "eap": "tls", "identity": "dev1",
         "client_cert_path": cert, "private_key_path": key, "ca_cert_path": ca,
         "private_key_password": KEY_PW},
        {"id": "peap", "kind": "wifi", "name": "Corp PEAP", "ssid": "CorpPEAP",
         "security": "wpa2-enterprise", "eap": "peap", "identity": "bob", "password": EAP_PW,
         "ca_cert_path": ca, "domain_suffix_match": "radius.example.com"},
        {"id": "wg", "kind": "vpn", "type": "wireguard", "name": "wg corp",
         "private_key": WG_KEY, "interface": "wg-corp", "listen_port": 51820,
         "addresses": ["10.0.0.2/24", "fd00::2/64"],
         "peers": [{"public_key": WG_PEER, "endpoint": "[fd00::1]:51820",
                    "allowed_ips": ["10.0.0.0/24", "fd00::/64"], "preshared_key": WG_PSK,
                    "persistent_keepalive": 25}], "restore_on_removal": True},
        {"id": "ovpn", "kind": "vpn", "type": "openvpn", "name": "ovpn corp",
         "remote": "vpn.example.com:1194", "connection_type": "password-tls",
         "ca_cert_path": ca, "client_cert_path": cert, "private_key_path": key,
         "username": "bob", "password": OV_PW, "restore_on_removal": True},
    ]
    doc = {"id": "net", "version": 1, "mode": "enforce", "settings": settings}

    p = ward(tmp, "check", doc=doc)
    check(p.returncode == 0, "check runs (rc %d: %s)" % (p.returncode, p.stderr[-300:]))
    check(not leaks(p.stdout + p.stderr), "check output holds no secret")

    p = ward(tmp, "apply", doc=doc)
    check(p.returncode == 0, "apply runs (rc %d: %s)" % (p.returncode, p.stderr[-300:]))
    rep = json.loads(p.stdout)
    res = {r["id"]: r for r in rep["results"]}
    check(all(r["result"] == "REPAIRED" for r in rep["results"]),
          "every profile REPAIRED: %s" % [(r["id"], r["result"], r["error"]) for r in rep["results"]])
    check(not leaks(p.stdout + p.stderr), "apply output and debug log hold no secret: %s"
          % leaks(p.stdout + p.stderr))
    check(not state_leaks(tmp), "state directory (journal) holds no secret: %s" % state_leaks(tmp))
    paths = {i: profile_path(tmp, r) for i, r in res.items()}
    for i, path in paths.items():
        st = os.stat(path)
        check(st.st_mode & 0o7777 == 0o600 and st.st_uid == 0, "%s: 0600 root" % i)
        check(os.path.dirname(path) == tmp + "/root" + DIR, "%s: file inside %s" % (i, DIR))
        check(os.path.basename(path).startswith("ward-") and "\n" not in path, "%s: safe name %s"
              % (i, os.path.basename(path)))
    check(len(os.listdir(tmp + "/root" + DIR)) == len(settings), "one file per profile, nothing else")
    check(not os.path.exists(tmp + "/root/etc/passwd"), "hostile name wrote nothing outside")
    check("psk=" + PSK.replace("\\", "\\\\") + "\n" in open(paths["psk"]).read(),
          "the profile itself holds the PSK (GKeyFile-escaped)")

    if have_gi:
        k = keyfile(paths["hostile"])
        check(sorted(k.get_groups()[0]) == sorted(["connection", "wifi", "wifi-security", "ipv4",
                                                    "ipv6", "proxy"]), "hostile: no extra group")
        check(list(k.get_keys("connection")[0]) == ["id", "uuid", "type"], "hostile: no extra key")
        check(k.get_string("connection", "id") == HOSTILE_NAME, "hostile: id reads back as given")
        check(k.get_string("wifi", "ssid") == HOSTILE_SSID.replace(";", "\\;"),
              "hostile: ssid is NetworkManager's escaped string form")
        k = keyfile(paths["psk"])
        check(k.get_string("wifi-security", "psk") == PSK, "psk reads back as given")
        check(list(k.get_keys("wifi-security")[0]) == ["key-mgmt", "psk"], "psk: no extra key")
        k = keyfile(paths["peap"])
        check(k.get_string("802-1x", "password") == EAP_PW, "EAP password with newline reads back")
        check("x" not in k.get_keys("802-1x")[0], "EAP password's '=x' line added no key")
        k = keyfile(paths["bytes"])
        check(k.get_string("wifi", "ssid") == "195;188;1;10;", "non-printable SSID as a byte list")

    if have_nmcli:
        for i, path in paths.items():
            same, pr = nm_roundtrip(path)
            check(same, "%s: NetworkManager reads and rewrites Ward's file unchanged%s" %
                  (i, "" if same else ":\n" + pr.stdout.decode() + pr.stderr.decode()))
        # the same profiles created by nmcli itself
        def uuid_of(i):
            return [l for l in open(paths[i]).read().splitlines() if l.startswith("uuid=")][0][5:]
        adds = {
            "psk": ["type", "wifi", "con-name", "Corp WiFi", "ssid", "CorpNet",
                    "wifi-sec.key-mgmt", "wpa-psk", "wifi-sec.psk", PSK,
                    "802-11-wireless.hidden", "yes", "connection.autoconnect", "no",
                    "connection.autoconnect-priority", "5"],
            "hostile": ["type", "wifi", "con-name", HOSTILE_NAME, "ssid", HOSTILE_SSID,
                        "wifi-sec.key-mgmt", "sae", "wifi-sec.psk", "12345678"],
            "peap": ["type", "wifi", "con-name", "Corp PEAP", "ssid", "CorpPEAP",
                     "wifi-sec.key-mgmt", "wpa-eap", "802-1x.eap", "peap", "802-1x.identity",
                     "bob", "802-1x.password", EAP_PW, "802-1x.phase2-auth", "mschapv2",
                     "802-1x.ca-cert", ca, "802-1x.domain-suffix-match", "radius.example.com"],
            "tls": ["type", "wifi", "con-name", "Corp 802.1X", "ssid", "CorpSecure",
                    "wifi-sec.key-mgmt", "wpa-eap", "wifi-sec.pmf", "3", "802-1x.eap", "tls",
                    "802-1x.identity", "dev1", "802-1x.client-cert", cert, "802-1x.private-key",
                    key, "802-1x.ca-cert", ca, "802-1x.private-key-password", KEY_PW],
            "wg": ["type", "wireguard", "con-name", "wg corp", "ifname", "wg-corp",
                   "wireguard.private-key", WG_KEY, "wireguard.listen-port", "51820",
                   "ipv4.method", "manual", "ipv4.addresses", "10.0.0.2/24",
                   "ipv6.method", "manual", "ipv6.addresses", "fd00::2/64"],
            "ovpn": ["type", "vpn", "con-name", "ovpn corp", "vpn-type", "openvpn", "vpn.data",
                     "remote=vpn.example.com:1194, connection-type=password-tls, ca=%s, cert=%s, "
                     "key=%s, username=bob, password-flags=0" % (ca, cert, key),
                     "vpn.secrets", "password=" + OV_PW],
        }
        for i, args in adds.items():
            pr = subprocess.run([NMCLI, "--offline", "connection", "add", "connection.uuid",
                                 uuid_of(i)] + args, capture_output=True, timeout=30)
            mine = open(paths[i], "rb").read()
            if i == "wg":  # nmcli cannot add WireGuard peers: compare without the peer group
                lines = mine.decode().split("\n\n")
                mine = "\n\n".join(g for g in lines if not g.startswith("[wireguard-peer.")).encode()
            check(pr.returncode == 0 and pr.stdout.rstrip(b"\n") == mine.rstrip(b"\n"),
                  "%s: nmcli --offline connection add prints the same profile%s" %
                  (i, "" if pr.stdout.rstrip(b"\n") == mine.rstrip(b"\n") else
                   ":\n--- nmcli\n" + pr.stdout.decode() + pr.stderr.decode() + "--- ward\n" +
                   mine.decode()))

    # idempotent: a second apply keeps everything and rewrites nothing
    mt = {i: os.stat(p).st_mtime_ns for i, p in paths.items()}
    p = ward(tmp, "apply", doc=doc)
    rep = json.loads(p.stdout)
    check(all(r["result"] == "KEPT" for r in rep["results"]), "second apply: all KEPT")
    check(all(os.stat(p).st_mtime_ns == mt[i] for i, p in paths.items()), "second apply: no write")

    # drift: a changed PSK in the file is repaired, the report shows hashes only
    with open(paths["psk"], "a") as f:
        f.write("\n[wifi-security]\npsk=HandEdited99\n")
    p = ward(tmp, "apply", doc=doc)
    rep = json.loads(p.stdout)
    res = {r["id"]: r for r in rep["results"]}
    check(res["psk"]["result"] == "REPAIRED" and "sha256:" in res["psk"]["expected"],
          "drifted profile repaired, content shown as a hash")
    check(not leaks(p.stdout + p.stderr) and "HandEdited99" not in p.stdout,
          "drift report holds no secret")

    # a new PSK: the snapshot of the prior profile (with the old PSK) keeps no secret
    doc2 = json.loads(json.dumps(doc))
    doc2["version"] = 2
    doc2["settings"][0]["psk"] = "another-psk-value"
    SECRETS.append("another-psk-value")
    p = ward(tmp, "apply", doc=doc2)
    check(p.returncode == 0 and not leaks(p.stdout + p.stderr), "new PSK applied, not shown")
    check(not state_leaks(tmp), "journal after a PSK change holds no secret: %s" % state_leaks(tmp))

    # removal: restore_on_removal profiles go (they did not exist before), others stay
    argv = [WARD, "--root", tmp + "/root", "--state-dir", tmp + "/state", "--log-level", "debug",
            "baseline", "remove", "net", "--json"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "remove runs (rc %d: %s)" % (p.returncode, p.stderr[-300:]))
    check(not leaks(p.stdout + p.stderr), "remove output holds no secret")
    check(not os.path.exists(paths["psk"]) and not os.path.exists(paths["wg"]) and
          not os.path.exists(paths["ovpn"]), "restore_on_removal profiles removed")
    check(os.path.exists(paths["peap"]), "profiles without restore_on_removal stay")

    # absent
    doc3 = {"id": "gone", "version": 1, "mode": "enforce", "settings": [
        dict(settings[4], state="absent")]}
    p = ward(tmp, "apply", doc=doc3)
    check(json.loads(p.stdout)["results"][0]["result"] == "REPAIRED" and
          not os.path.exists(paths["peap"]), "state absent removes the profile")

    # validation
    bad = {"id": "bad", "version": 1, "settings": [
        {"id": "s33", "kind": "wifi", "name": "x", "ssid": "a" * 33, "security": "open"},
        {"id": "s32", "kind": "wifi", "name": "y", "ssid": "a" * 32, "security": "open"},
        {"id": "shortpsk", "kind": "wifi", "name": "z", "ssid": "n", "security": "wpa2-personal",
         "psk": "Sh0rtX"},
        {"id": "cc", "kind": "wifi", "name": "c", "ssid": "n", "security": "wpa2-enterprise",
         "eap": "tls", "client_cert": "user-cert", "identity": "i", "ca_cert_path": "/c.pem"},
        {"id": "pskopen", "kind": "wifi", "name": "o", "ssid": "n", "security": "open",
         "psk": "Sh0rtX-but-long"},
        {"id": "wgbad", "kind": "vpn", "type": "wireguard", "name": "w", "private_key": "Sh0rtX",
         "peers": [{"public_key": "x]\n[evil]", "allowed_ips": ["1.2.3.4/33;"]}]},
    ]}
    SECRETS.extend(["Sh0rtX"])
    p = ward(tmp, "check", doc=bad)
    err = p.stderr
    check(p.returncode == 1, "invalid document refused (rc %d)" % p.returncode)
    check("settings[0].ssid: is 33 bytes" in err, "33-byte SSID refused")
    check("settings[1]" not in err, "32-byte SSID accepted")
    check("settings[2].psk: must be 8 to 63" in err, "short PSK refused")
    check("settings[3].client_cert: no setting \"user-cert\" in this baseline" in err,
          "client_cert naming no setting refused")
    check("settings[4].psk: does not apply" in err, "psk with open refused")
    check("settings[5].private_key: must be a WireGuard key" in err and
          "public_key: must be a WireGuard key" in err and "allowed_ips[0]" in err,
          "bad WireGuard keys and networks refused")
    check(not leaks(err) and "Sh0rtX" not in p.stdout, "validation messages quote no secret")
    with open(tmp + "/nul.json", "w") as f:
        f.write('{"id": "x", "version": 1, "settings": [{"id": "a", "kind": "wifi", '
                '"name": "a\\u0000b", "ssid": "n", "security": "open"}]}')
    p = subprocess.run([WARD, "baseline", "check", tmp + "/nul.json"], capture_output=True,
                       text=True, timeout=30)
    check(p.returncode == 1 and "u0000" in p.stderr, "NUL in a name refused: %s" % p.stderr.strip())
    # a JSON syntax error inside a secret is not quoted either
    with open(tmp + "/syntax.json", "w") as f:
        f.write('{"id": "x", "version": 1, "settings": [{"id": "a", "kind": "wifi", "psk": "Sh0rtX\\q"}]}')
    p = subprocess.run([WARD, "baseline", "check", tmp + "/syntax.json"], capture_output=True,
                       text=True, timeout=30)
    check(p.returncode == 1 and "Sh0rtX" not in p.stderr, "syntax error does not quote the text: %s"
          % p.stderr.strip())

    if FAILS:
        print("%d failure(s)" % len(FAILS))
        sys.exit(1)
    subprocess.run(["rm", "-rf", tmp])
    print("all ok")


main()
