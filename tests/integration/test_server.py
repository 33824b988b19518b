#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""ward-server on its own, over real TLS on loopback: init, tokens (distinct refusals),
mutual-TLS enforcement, signed command delivery, results, long-poll wake, renewal, bad
input, clean shutdown. A device here is an openssl-made key driven by Python's ssl module,
so these tests need no agent. Usage: test_server.py CASE (WARD_BIN, WARD_SERVER_BIN)."""
import base64
import json
import os
import signal
import subprocess
import threading
import time

from wardlib import (Server, check, enroll_direct, free_port, https, main, make_device_identity,
                     openssl, run, token_fields, SERVER)


def case_init_and_reuse(tmp):
    s = Server(tmp)
    for name in ("ca.pem", "ca.key", "server.pem", "server.key", "command.key", "server.db"):
        check(os.path.exists(os.path.join(s.dir, name)), "missing " + name)
    for secret in ("ca.key", "server.key", "command.key"):
        mode = os.stat(os.path.join(s.dir, secret)).st_mode & 0o777
        check(mode == 0o600, "%s has mode %o" % (secret, mode))
    ca_before = open(s.ca).read()
    r = s.cli("init", rc=1)
    check("already initialized" in r.stderr, r.stderr)
    check(open(s.ca).read() == ca_before, "init replaced the CA")
    r = run([SERVER, "--data-dir", os.path.join(tmp, "nothing"), "devices", "list"])
    check(r.returncode == 1 and "not initialized" in r.stderr, r.stderr)
    # The token's pin is the CA's SPKI hash, as kubeadm computes it.
    t = token_fields(s.token())
    der = os.path.join(tmp, "ca.spki")
    openssl("x509", "-in", s.ca, "-pubkey", "-noout", "-out", der + ".pem")
    openssl("pkey", "-pubin", "-in", der + ".pem", "-outform", "DER", "-out", der)
    import hashlib
    check(t["ca_pin"] == "sha256:" + hashlib.sha256(open(der, "rb").read()).hexdigest(),
          "pin mismatch: " + t["ca_pin"])
    check(t["url"] == s.url, t["url"])


def refusal(s, tmp, secret, name):
    key, csr = make_device_identity(tmp, name)
    return https(s, "POST", "/api/v1/enroll", {"token": secret, "csr": open(csr).read()})


def case_token_refusals(tmp):
    s = Server(tmp).start()
    try:
        ok = s.token("--uses", "1", "--label", "one")
        enroll_direct(s, tmp, ok, "first")
        st, body = refusal(s, tmp, token_fields(ok)["secret"], "again")
        check(st == 401 and body["error"]["code"] == "token_used_up", (st, body))

        exp = s.token("--ttl", "1s")
        time.sleep(2.2)
        st, body = refusal(s, tmp, token_fields(exp)["secret"], "late")
        check(st == 401 and body["error"]["code"] == "token_expired", (st, body))

        rev = s.cli_json("token", "create")
        s.cli("token", "revoke", rev["id"])
        st, body = refusal(s, tmp, token_fields(rev["token"])["secret"], "rev")
        check(st == 401 and body["error"]["code"] == "token_revoked", (st, body))

        good = token_fields(s.token())["secret"]
        wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
        st, body = refusal(s, tmp, wrong, "wrong")
        check(st == 401 and body["error"]["code"] == "token_invalid", (st, body))
        # A failed attempt consumed nothing: the right secret still works once.
        st, body = refusal(s, tmp, good, "right")
        check(st == 201, (st, body))

        states = {t["id"]: t["state"] for t in s.cli_json("token", "list")}
        check(states[rev["id"]] == "revoked", states)
        check("used_up" in states.values() and "expired" in states.values(), states)
        kinds = [r[0] for r in s.sql("SELECT kind FROM events")]
        check(kinds.count("enroll") == 2 and kinds.count("enroll_refused") == 4, kinds)
        # Only hashes are stored.
        for (h,) in s.sql("SELECT secret_hash FROM tokens"):
            check(len(h) == 32, "secret stored in clear?")
        check(good.encode() not in open(os.path.join(s.dir, "server.db"), "rb").read(),
              "a token secret is in the database file")
    finally:
        s.stop()


def case_bad_csr(tmp):
    s = Server(tmp).start()
    try:
        secret = token_fields(s.token())["secret"]
        st, body = https(s, "POST", "/api/v1/enroll", {"token": secret, "csr": "garbage"})
        check(st == 400 and body["error"]["code"] == "bad_csr", (st, body))
        # An RSA key is not what the protocol promises.
        k = os.path.join(tmp, "rsa.key")
        c = os.path.join(tmp, "rsa.csr")
        openssl("genrsa", "-out", k, "2048")
        openssl("req", "-new", "-key", k, "-subj", "/CN=x", "-out", c)
        st, body = https(s, "POST", "/api/v1/enroll", {"token": secret, "csr": open(c).read()})
        check(st == 400 and body["error"]["code"] == "bad_csr", (st, body))
        # The use was not consumed by either failure.
        key, csr = make_device_identity(tmp, "ok")
        st, body = https(s, "POST", "/api/v1/enroll", {"token": secret, "csr": open(csr).read()})
        check(st == 201, (st, body))
    finally:
        s.stop()


def case_mtls_enforced(tmp):
    s = Server(tmp).start()
    try:
        dev, cert, key = enroll_direct(s, tmp, s.token())
        st, body = https(s, "POST", "/api/v1/checkin", {"seq_high": 0}, cert=cert, key=key)
        check(st == 200 and body["commands"] == [], (st, body))
        st, body = https(s, "POST", "/api/v1/checkin", {"seq_high": 0})
        check(st == 401 and body["error"]["code"] == "client_certificate_required", (st, body))
        # A certificate from another CA does not get through the handshake.
        other = Server(os.path.join(tmp, "other"))
        other.start()
        try:
            odev, ocert, okey = enroll_direct(other, os.path.join(tmp, "other"), other.token(),
                                              "o")
        finally:
            other.stop()
        try:
            st, body = https(s, "POST", "/api/v1/checkin", {}, cert=ocert, key=okey)
            refused = st in (401, 403)
        except (OSError, Exception) as e:  # handshake failure or reset
            refused = True
        check(refused, "a foreign certificate was accepted: %s %s" % (st, body))
        s.cli("device", "revoke", dev)
        st, body = https(s, "POST", "/api/v1/checkin", {}, cert=cert, key=key)
        check(st == 403 and body["error"]["code"] == "device_revoked", (st, body))
        r = s.cli("command", "send", dev, "ping", rc=1)
        check("revoked" in r.stderr, r.stderr)
    finally:
        s.stop()


def ed25519_verify(tmp, pub_b64, payload, sig):
    raw = base64.b64decode(pub_b64)
    der = bytes.fromhex("302a300506032b6570032100") + raw
    pub = os.path.join(tmp, "cmd.pub.der")
    with open(pub, "wb") as f:
        f.write(der)
    with open(os.path.join(tmp, "payload"), "wb") as f:
        f.write(payload)
    with open(os.path.join(tmp, "sig"), "wb") as f:
        f.write(sig)
    r = run(["/usr/bin/openssl", "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey",
             pub, "-rawin", "-in", os.path.join(tmp, "payload"), "-sigfile",
             os.path.join(tmp, "sig")])
    return r.returncode == 0


def case_signed_commands(tmp):
    s = Server(tmp).start()
    try:
        key, csr = make_device_identity(tmp, "dev")
        secret = token_fields(s.token())["secret"]
        st, enr = https(s, "POST", "/api/v1/enroll", {"token": secret, "csr": open(csr).read()})
        check(st == 201, (st, enr))
        cert = os.path.join(tmp, "dev.pem")
        open(cert, "w").write(enr["certificate"])
        dev = enr["device_id"]
        a = s.cli_json("command", "send", dev[:10], "ping")
        b = s.cli_json("command", "send", dev, "sync", "--param", "why=test")
        check((a["seq"], b["seq"]) == (1, 2), (a, b))
        st, body = https(s, "POST", "/api/v1/checkin", {"seq_high": 0}, cert=cert, key=key)
        check(st == 200 and len(body["commands"]) == 2, body)
        for env, want in zip(body["commands"], (a, b)):
            payload = base64.b64decode(env["payload"])
            check(ed25519_verify(tmp, enr["command_key"], payload,
                                 base64.b64decode(env["signature"])), "bad signature")
            p = json.loads(payload)
            check(p["device_id"] == dev and p["command_id"] == want["command_id"], p)
            check(p["seq"] == want["seq"] and p["expires_at"] > p["issued_at"], p)
        check(json.loads(base64.b64decode(body["commands"][1]["payload"]))["params"] ==
              {"why": "test"}, "params")
        # Redelivery is byte-identical; above the high-water mark only.
        st, again = https(s, "POST", "/api/v1/checkin", {"seq_high": 1}, cert=cert, key=key)
        check([e["payload"] for e in again["commands"]] == [body["commands"][1]["payload"]],
              again)
        # Tampering with the payload breaks the signature (the agent's check relies on it).
        bad = bytearray(base64.b64decode(body["commands"][0]["payload"]))
        bad[5] ^= 1
        check(not ed25519_verify(tmp, enr["command_key"], bytes(bad),
                                 base64.b64decode(body["commands"][0]["signature"])),
              "tampered payload verified")
        # Results: stored once, acknowledged every time, foreign ids rejected.
        res = {"results": [{"command_id": a["command_id"], "seq": 1, "status": "succeeded",
                            "output": {"pong": True}},
                           {"command_id": "c-000000000000000000000000", "status": "failed"}]}
        st, r = https(s, "POST", "/api/v1/results", res, cert=cert, key=key)
        check(st == 200 and r["ack"] == [a["command_id"]] and len(r["rejected"]) == 1, r)
        res["results"][0]["status"] = "failed"
        st, r = https(s, "POST", "/api/v1/results", res, cert=cert, key=key)
        check(r["ack"] == [a["command_id"]], r)
        cmds = {c["command_id"]: c for c in s.commands(dev)}
        check(cmds[a["command_id"]]["status"] == "succeeded", cmds)
        check(cmds[a["command_id"]]["result"]["output"] == {"pong": True}, cmds)
        r = s.cli("command", "send", dev, "format-disk", rc=1)
        check("unknown command type" in r.stderr, r.stderr)
    finally:
        s.stop()


def case_long_poll(tmp):
    s = Server(tmp).start()
    try:
        dev, cert, key = enroll_direct(s, tmp, s.token())
        t0 = time.monotonic()
        st, body = https(s, "GET", "/api/v1/wait?timeout=1&seq=0", cert=cert, key=key)
        check(st == 204 and 0.9 < time.monotonic() - t0 < 3, (st, time.monotonic() - t0))
        out = {}

        def wait():
            t = time.monotonic()
            out["r"] = https(s, "GET", "/api/v1/wait?timeout=30&seq=0", cert=cert, key=key)
            out["t"] = time.monotonic() - t

        th = threading.Thread(target=wait)
        th.start()
        time.sleep(0.5)
        r = s.cli("wake", dev)
        check("woke" in r.stdout, r.stdout)
        th.join(10)
        check(out["r"] == (200, {"wake": "command"}) and out["t"] < 3, out)
        # A command queued while no wait is held answers the next wait at once.
        s.cli("command", "send", dev, "ping")
        t = time.monotonic()
        st, body = https(s, "GET", "/api/v1/wait?timeout=30&seq=0", cert=cert, key=key)
        check(st == 200 and time.monotonic() - t < 2, (st, body))
        st, body = https(s, "GET", "/api/v1/wait?timeout=0", cert=cert, key=key)
        check(st == 400, (st, body))
        # With the command above the high-water mark pending, a wait answers at once too.
        st, body = https(s, "GET", "/api/v1/wait?timeout=30&seq=0", cert=cert, key=key)
        check(st == 200, (st, body))

        # Shutdown answers a held wait with 503 and exits cleanly.
        def wait_seq1():
            out["r"] = https(s, "GET", "/api/v1/wait?timeout=30&seq=1", cert=cert, key=key)

        th = threading.Thread(target=wait_seq1)
        out.clear()
        th.start()
        time.sleep(0.5)
        rc = s.stop()
        th.join(10)
        check(rc == 0, "server exit %d" % rc)
        check(out["r"][0] == 503, out)
    finally:
        s.stop()


def case_admin_socket(tmp):
    """The admin socket (platform/ipc.h) with a data directory given relative to the
    working directory, as a person types it: `wake` reaches the running server; a second
    server on the same data directory refuses to start (the socket answers), and one
    killed leaves a stale socket the next start replaces."""
    port = free_port()
    env = dict(os.environ)
    run([SERVER, "--data-dir", "srv", "init", "--listen", "127.0.0.1:%d" % port], check_rc=0,
        cwd=tmp)
    p = subprocess.Popen([SERVER, "--data-dir", "srv", "serve"], cwd=tmp, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        check("listening on" in line, line + p.stderr.read() if p.poll() is not None else line)
        # the same server through the usual helper, for an enrolled device to wake
        s = Server.__new__(Server)
        s.dir, s.port, s.proc = os.path.join(tmp, "srv"), port, None
        s.url, s.ca = "https://127.0.0.1:%d" % port, os.path.join(tmp, "srv", "ca.pem")
        dev, _, _ = enroll_direct(s, tmp, s.token())
        r = run([SERVER, "--data-dir", "srv", "wake", dev], cwd=tmp, check_rc=0)
        check("pending" in r.stdout or "woke" in r.stdout, r.stdout + r.stderr)
        second = run([SERVER, "--data-dir", "srv", "serve", "--listen",
                      "127.0.0.1:%d" % free_port()], cwd=tmp, timeout=20)
        check(second.returncode != 0 and "another daemon already answers" in second.stderr,
              second.stderr)
        p.kill()
        p.wait(10)
        check(os.path.exists(os.path.join(tmp, "srv", "admin.sock")), "no stale socket")
        p = subprocess.Popen([SERVER, "--data-dir", "srv", "serve"], cwd=tmp, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        check("listening on" in line, "the stale socket was not replaced: " + line)
    finally:
        p.kill()
        p.wait(10)


def case_renewal(tmp):
    s = Server(tmp).start()
    try:
        dev, cert, key = enroll_direct(s, tmp, s.token())
        nkey, ncsr = make_device_identity(tmp, "new")
        st, body = https(s, "POST", "/api/v1/renew", {"csr": open(ncsr).read()}, cert=cert,
                         key=key)
        check(st == 200, (st, body))
        ncert = os.path.join(tmp, "new.pem")
        open(ncert, "w").write(body["certificate"])
        # The old certificate still works during the grace period ...
        st, _ = https(s, "POST", "/api/v1/checkin", {}, cert=cert, key=key)
        check(st == 200, st)
        # ... until the new one is used.
        st, _ = https(s, "POST", "/api/v1/checkin", {}, cert=ncert, key=nkey)
        check(st == 200, st)
        st, body = https(s, "POST", "/api/v1/checkin", {}, cert=cert, key=key)
        check(st == 403 and body["error"]["code"] == "device_revoked", (st, body))
        show = s.cli_json("device", "show", dev)
        check(len(show["certificates"]) == 2, show)
    finally:
        s.stop()


def case_bad_input(tmp):
    s = Server(tmp).start()
    try:
        dev, cert, key = enroll_direct(s, tmp, s.token())
        st, body = https(s, "POST", "/api/v1/checkin", b"{\"seq_high\": ", cert=cert, key=key)
        check(st == 400 and body["error"]["code"] == "bad_request", (st, body))
        st, body = https(s, "POST", "/api/v1/checkin", b"[1,2]", cert=cert, key=key)
        check(st == 400, (st, body))
        st, body = https(s, "POST", "/api/v1/checkin", {"seq_high": "x"}, cert=cert, key=key)
        check(st == 400, (st, body))
        st, body = https(s, "POST", "/api/v1/checkin", b"[" * 100 + b"]" * 100, cert=cert,
                         key=key)
        check(st == 400, (st, body))
        st, body = https(s, "POST", "/api/v1/checkin", b"{" + b" " * (2 << 20) + b"}",
                         cert=cert, key=key)
        check(st == 413, (st, body))
        st, body = https(s, "GET", "/api/v1/checkin", cert=cert, key=key)
        check(st == 405, (st, body))
        st, body = https(s, "GET", "/etc/passwd", cert=cert, key=key)
        check(st == 404, (st, body))
        st, body = https(s, "POST", "/api/v1/enroll", {"token": 1, "csr": []})
        check(st == 400, (st, body))
        # Still serving normally afterwards.
        st, body = https(s, "POST", "/api/v1/checkin", {"seq_high": 0}, cert=cert, key=key)
        check(st == 200, (st, body))
    finally:
        s.stop()


if __name__ == "__main__":
    main({k[5:]: v for k, v in globals().items() if k.startswith("case_")})
