#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Who may do what to a laptop: grants and ownership from the enrollment token, enforced by
the agent itself; the offline administrator key (ward-server offline-key create, command
prepare / sign / send --signed) and what a compromised online service cannot do without it.
The compromised service is simulated by re-signing envelopes with the service's own online
key (as an attacker holding the server would). Scripts only write marker files in the
test's scratch directory."""
import base64
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardlib import (Agent, Server, check, command, envelope_of, final, main,  # noqa: E402
                     set_envelope, sign_envelope, wait_until, OPENSSL, SERVER)

FAST = {"backoff_base": 1, "backoff_cap": 2, "connect_timeout": 2}
PASS = "correct horse battery staple"




def enrolled(tmp, s, token_args=(), name="agent", start=True):
    a = Agent(tmp, name=name, config=FAST)
    a.enroll(s.token(*token_args))
    if start:
        a.start()
        wait_until(lambda: a.meta("last_checkin"), 10, what="the first check-in")
    return a, a.status()["device_id"]


def marker_script(tmp, name):
    """A script that leaves tmp/<name>.ran behind when (and only when) it runs."""
    p = os.path.join(tmp, name + ".sh")
    with open(p, "w") as f:
        f.write("echo ran > %s\n" % os.path.join(tmp, name + ".ran"))
    return p, os.path.join(tmp, name + ".ran")


def denied(s, cid, words):
    c = final(s, cid)
    check(c["status"] == "denied", c)
    err = (c["result"] or {}).get("error") or ""
    check(words in err, "reason %r lacks %r" % (err, words))
    return c


def passfile(tmp):
    p = os.path.join(tmp, "pass")
    with open(p, "w") as f:
        f.write(PASS + "\n")
    return p


def offline_key(tmp, s):
    key = os.path.join(tmp, "offline.key")
    out = s.cli_json("offline-key", "create", "--out", key, "--passphrase-file", passfile(tmp),
                     "--label", "vault")
    return key, out["fingerprint"]


def signed_request(tmp, s, key, dev, *form):
    req = os.path.join(tmp, "req-%d.json" % len(os.listdir(tmp)))
    s.cli("command", "prepare", dev, *form, "--out", req)
    s.cli("command", "sign", req, "--key", key, "--passphrase-file", passfile(tmp))
    return req


def case_grants_at_enrollment(tmp):
    """A corporate token grants all three by default, a personal one none; the grants reach
    the device record and the agent's own state; impossible grants are refused at once."""
    s = Server(tmp).start()
    try:
        a, dev = enrolled(tmp, s, start=False)
        st = a.status()
        check(st["ownership"] == "corporate" and st["grants"] == "full_wipe,scripts,packages",
              st)
        check(st["offline_key"] is None, st)
        d = s.cli_json("device", "show", dev)
        check(d["ownership"] == "corporate" and d["grants"] == ["full_wipe", "scripts",
                                                               "packages"], d)
        b, dev_b = enrolled(tmp, s, ("--ownership", "personal"), name="byod", start=False)
        check(b.status()["ownership"] == "personal" and b.status()["grants"] == "none",
              b.status())
        c, dev_c = enrolled(tmp, s, ("--allow", "packages"), name="narrow", start=False)
        check(c.status()["grants"] == "packages", c.status())
        r = s.cli("token", "create", "--ownership", "personal", "--allow", "scripts", rc=2)
        check("never accepts scripts" in r.stderr, r.stderr)
        r = s.cli("token", "create", "--allow", "root", rc=2)
        check("unknown grant 'root'" in r.stderr, r.stderr)
        toks = s.cli_json("token", "list")
        check(sorted(t["ownership"] for t in toks) == ["corporate", "corporate", "personal"],
              toks)
        text = s.cli("device", "show", dev_b).stdout
        check("ownership:      personal; grants: none" in text, text)
    finally:
        s.stop()


def case_personal_device_refuses(tmp):
    """A personal device refuses scripts and full wipe whatever the service says, even when
    the service's own record was changed to grant them; harmless commands still run."""
    s = Server(tmp).start()
    a, dev = enrolled(tmp, s, ("--ownership", "personal", "--allow", "packages"))
    try:
        # By its own record the service refuses to queue what the device would refuse.
        r = s.cli("command", "send", dev, "full-wipe", rc=1)
        check("personally owned: it never accepts full_wipe" in r.stderr, r.stderr)
        # The service's record says corporate with every grant: the device does not care.
        s.sql("UPDATE devices SET ownership = 'corporate', grants ="
              " 'full_wipe,scripts,packages' WHERE device_id = ?", (dev,))
        p, ran = marker_script(tmp, "byod")
        cid = s.cli_json("command", "send", dev, "script", p)["command_id"]
        denied(s, cid, "personal device: run_script is never accepted")
        wipe = s.cli_json("command", "send", dev, "full-wipe")["command_id"]
        denied(s, wipe, "personal device: full_wipe is never accepted")
        ping = s.cli_json("command", "send", dev, "ping")["command_id"]
        check(final(s, ping)["status"] == "succeeded", command(s, ping))
        check(not os.path.exists(ran), "the script ran on a personal device")
        check(a.sql("SELECT status FROM commands WHERE command_id = ?", (cid,)) == [("denied",)],
              a.sql("SELECT command_id, state, status FROM commands"))
        text = s.cli("commands", "show", cid).stdout
        check("denied" in text, text)
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_grant_not_given(tmp):
    """A corporate device enrolled with --allow packages refuses scripts and full wipe. The
    service refuses to queue them by its own record; with that record changed to grant
    everything, the device still refuses by its own."""
    s = Server(tmp).start()
    a, dev = enrolled(tmp, s, ("--allow", "packages"))
    try:
        p, ran = marker_script(tmp, "narrow")
        seq = s.sql("SELECT next_seq FROM devices WHERE device_id = ?", (dev,))[0][0]
        r = s.cli("command", "send", dev, "script", p, rc=1)
        check("was not granted 'scripts' at enrollment: it would refuse run_script" in r.stderr,
              r.stderr)
        r = s.cli("command", "send", dev, "full-wipe", rc=1)
        check("not granted 'full_wipe'" in r.stderr, r.stderr)
        check(s.commands(dev) == [], s.commands(dev))
        check(s.sql("SELECT next_seq FROM devices WHERE device_id = ?", (dev,))[0][0] == seq,
              "a refused send used up a sequence number")
        s.sql("UPDATE devices SET grants = 'full_wipe,scripts,packages' WHERE device_id = ?",
              (dev,))
        cid = s.cli_json("command", "send", dev, "script", p)["command_id"]
        denied(s, cid, "not granted 'scripts'")
        wipe = s.cli_json("command", "send", dev, "full-wipe")["command_id"]
        denied(s, wipe, "not granted 'full_wipe'")
        check(not os.path.exists(ran), "the script ran without the scripts grant")
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_offline_key_flow(tmp):
    """With an offline key pinned, a script needs its signature: online-only is denied; the
    prepare / sign / send --signed path runs it once; the key file is standard encrypted
    PKCS#8 (openssl reads it with the passphrase, not without); a wrong passphrase, a
    tampered request and a second send are refused by the service."""
    s = Server(tmp).start()
    key, fp = offline_key(tmp, s)
    a = None
    try:
        pem = subprocess.run([OPENSSL, "pkey", "-in", key, "-passin", "pass:" + PASS, "-pubout"],
                             capture_output=True, text=True)
        check(pem.returncode == 0 and "BEGIN PUBLIC KEY" in pem.stdout, pem.stderr)
        bad = subprocess.run([OPENSSL, "pkey", "-in", key, "-passin", "pass:nope", "-noout"],
                             capture_output=True, text=True)
        check(bad.returncode != 0, "openssl opened the offline key with a wrong passphrase")
        check("ENCRYPTED PRIVATE KEY" in open(key).read(), "the offline key is not encrypted")
        check(oct(os.stat(key).st_mode & 0o777) == "0o600", oct(os.stat(key).st_mode))
        r = s.cli("offline-key", "create", "--out", key, "--passphrase-file", passfile(tmp),
                  rc=1)
        check("not overwritten" in r.stderr, r.stderr)

        a, dev = enrolled(tmp, s)
        check(a.status()["offline_key"] == fp[:16], (a.status(), fp))
        check(s.cli_json("device", "show", dev)["offline_key"] == fp, "pin not recorded")

        p, ran = marker_script(tmp, "online-only")
        cid = s.cli_json("command", "send", dev, "script", p)["command_id"]
        denied(s, cid, "needs the offline administrator's signature")
        check(not os.path.exists(ran), "an online-only script ran")
        ping = s.cli_json("command", "send", dev, "ping")["command_id"]
        check(final(s, ping)["status"] == "succeeded", "a ping needs no offline signature")

        p2, ran2 = marker_script(tmp, "signed")
        req = os.path.join(tmp, "req.json")
        s.cli("command", "prepare", dev, "script", p2, "--out", req)
        r = s.cli("command", "send", "--signed", req, rc=1)
        check("not signed" in r.stderr, r.stderr)
        with open(os.path.join(tmp, "wrong"), "w") as f:
            f.write("this is not the passphrase\n")
        r = s.cli("command", "sign", req, "--key", key, "--passphrase-file",
                  os.path.join(tmp, "wrong"), rc=1)
        check("wrong passphrase" in r.stderr, r.stderr)
        # sign runs without the service's data directory (on another machine).
        r = subprocess.run([SERVER, "--data-dir", os.path.join(tmp, "none"),
                            "command", "sign", req, "--key", key],
                           env=dict(os.environ, WARD_OFFLINE_PASSPHRASE=PASS),
                           capture_output=True, text=True)
        check(r.returncode == 0, r.stderr)
        check("signed run_script for device " + dev in r.stderr, r.stderr)

        # The document is what counts: changing it breaks the signature.
        signed = json.load(open(req))
        doc = json.loads(base64.b64decode(signed["document"]))
        evil = dict(doc, params=dict(doc["params"], script="echo pwned\n"))
        tampered = dict(signed, document=base64.b64encode(
            json.dumps(evil, sort_keys=True, separators=(",", ":")).encode()).decode())
        tp = os.path.join(tmp, "tampered.json")
        json.dump(tampered, open(tp, "w"))
        r = s.cli("command", "send", "--signed", tp, rc=1)
        check("does not verify" in r.stderr, r.stderr)

        out = s.cli_json("command", "send", "--signed", req)
        check(out["command_id"] == doc["command_id"], out)
        c = final(s, out["command_id"])
        check(c["status"] == "succeeded", c)
        check(os.path.exists(ran2), "the offline-signed script did not run")
        r = s.cli("command", "send", "--signed", req, rc=1)
        check("queued already" in r.stderr, r.stderr)
        check("FINGERPRINT" in s.cli("offline-key", "list").stdout, "offline-key list")
    finally:
        if a:
            a.stop(signal.SIGKILL)  # a running agent outlived every run of this case
        s.stop()


def case_compromised_service(tmp):
    """The online key alone cannot borrow an offline authorization for something else: the
    authorization of one signed command, attached by the service to another command
    (other parameters, another command id) or replayed for another device, is denied; so is
    a forged one; a full wipe without one is denied."""
    s = Server(tmp).start()
    key, _ = offline_key(tmp, s)
    a, dev = enrolled(tmp, s)
    b, dev_b = enrolled(tmp, s, name="other", start=False)
    try:
        a.stop()
        okp, ok_ran = marker_script(tmp, "authorized")
        req = signed_request(tmp, s, key, dev, "script", okp)
        auth = {"document": json.load(open(req))["document"],
                "signature": json.load(open(req))["signature"]}
        other_req = signed_request(tmp, s, key, dev_b, "script", okp)
        other_auth = {"document": json.load(open(other_req))["document"],
                      "signature": json.load(open(other_req))["signature"]}

        def forge(cid, authorization, command_id=None):
            env = envelope_of(s, cid)
            payload = json.loads(base64.b64decode(env["payload"]))
            payload["authorization"] = authorization
            if command_id:
                payload["command_id"] = command_id
            set_envelope(s, cid, sign_envelope(s, payload))

        # The signed command's own id, with other parameters. (The service's record keeps
        # its own id, so the device's answer is read from the device.)
        evil, evil_ran = marker_script(tmp, "evil")
        signed_id = json.loads(base64.b64decode(auth["document"]))["command_id"]
        other_params = s.cli_json("command", "send", dev, "script", evil)["command_id"]
        forge(other_params, auth, command_id=signed_id)
        # Same parameters as the signed one, but a command id the service made up.
        same_params = s.cli_json("command", "send", dev, "script", okp)["command_id"]
        forge(same_params, auth)
        # Another device's authorization.
        replayed = s.cli_json("command", "send", dev, "script", okp)["command_id"]
        forge(replayed, other_auth)
        # A signature by a key the device never pinned (the online key itself).
        doc = base64.b64decode(auth["document"])
        with open(os.path.join(tmp, "doc"), "wb") as f:
            f.write(doc)
        sig = subprocess.run([OPENSSL, "pkeyutl", "-sign", "-inkey",
                              os.path.join(s.dir, "command.key"), "-rawin", "-in",
                              os.path.join(tmp, "doc")], capture_output=True, check=True).stdout
        forged = s.cli_json("command", "send", dev, "script", okp)["command_id"]
        forge(forged, {"document": auth["document"],
                       "signature": base64.b64encode(sig).decode()})
        wipe = s.cli_json("command", "send", dev, "full-wipe")["command_id"]
        a.start()
        a.proc.wait_for("command %s (seq" % signed_id, 20)
        line = a.proc.matching(signed_id)[0][1]
        check("denied: the offline authorization's parameters differ" in line, line)
        wait_until(lambda: a.sql("SELECT status FROM commands WHERE command_id = ?",
                                 (signed_id,)) == [("denied",)], 10,
                   what="the journal's denied entry for " + signed_id)
        denied(s, same_params, "for another command (its command_id")
        denied(s, replayed, "for another command")
        denied(s, forged, "does not verify")
        denied(s, wipe, "needs the offline administrator's signature")
        check(not os.path.exists(evil_ran) and not os.path.exists(ok_ran),
              "a script ran on a borrowed authorization")
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_enrolled_before_key(tmp):
    """A device enrolled before any offline key pinned none: prepare says so, and it
    refuses full_wipe (which always needs the offline key) instead of wiping on the online
    key alone."""
    s = Server(tmp).start()
    a, dev = enrolled(tmp, s)
    try:
        offline_key(tmp, s)
        r = s.cli("command", "prepare", dev, "full-wipe", "--out", os.path.join(tmp, "r.json"),
                  rc=1)
        check("pinned no offline key" in r.stderr, r.stderr)
        wipe = s.cli_json("command", "send", dev, "full-wipe")["command_id"]
        denied(s, wipe, "pinned no offline key at enrollment")
        check(a.status()["offline_key"] is None, a.status())
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


if __name__ == "__main__":
    main({k[5:]: v for k, v in globals().items() if k.startswith("case_")})
