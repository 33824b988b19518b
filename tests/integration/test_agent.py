#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The real `ward` agent against the real ward-server on loopback: enrollment (CA pin checked
before the secret leaves, distinct token refusals, token files), check-ins with `ward run`,
revocation and expiry leading to needs_reenrollment and back, signed commands (one run per
command, every refusal reported with its reason, kill -9 at each step of the journal), the
service down or hanging (capped backoff, idle CPU, recovery), garbage answers from a TLS
impostor holding the real server key, and certificate renewal with short lifetimes.
Every `ward run` here must stop with exit 0 on SIGTERM.

Fault injection uses the real binaries only: SQLite triggers in the server's or the agent's
database hold a step of the exchange (a result the server cannot store, a journal update
that does not happen), a plain TCP relay counts whether the agent contacts the service at
all, and Python TLS servers play a service that answers badly. Usage: test_agent.py CASE
(WARD_BIN, WARD_SERVER_BIN)."""
import base64
import calendar
import json
import os
import re
import secrets
import signal
import time

from wardlib import (Proc, Agent, FakeService, Fail, Server, SilentListener, TcpProxy, check,
                     command, enroll_direct, envelope_of, make_token, main, openssl, run, set_envelope,
                     sign_envelope, take_seq, token_fields, wait_until, SERVER)

FAST = {"backoff_base": 1, "backoff_cap": 2, "connect_timeout": 2}


def iso_to_unix(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def stop_clean(agent):
    rc = agent.stop()
    check(rc == 0, "ward run exited %s on SIGTERM" % rc)


def device(server, device_id):
    for d in server.devices():
        if d["device_id"] == device_id:
            return d
    raise Fail("device %s not listed: %s" % (device_id, server.devices()))



def token_via(server, url, *args):
    """A real token of server, pointing the agent at url (a relay in front of it)."""
    f = token_fields(server.token(*args))
    f["url"] = url
    return make_token(f)


def one_line_error(r, needle):
    err = r.stderr.strip()
    check(r.returncode == 1, "exit %d, wanted 1: %s" % (r.returncode, err))
    check(needle in err, "wanted %r on stderr, got: %s" % (needle, err))
    check(len(err.splitlines()) == 1, "more than one line on stderr: %s" % err)
    return err


def serials_equal(a, b):
    return a.upper().lstrip("0") == b.upper().lstrip("0")


def checkins(server, device_id):
    return device(server, device_id)["checkins"]


# ---- enrollment -------------------------------------------------------------------------


def case_enroll_and_status(tmp):
    s = Server(tmp).start()
    a = Agent(tmp, config=FAST)
    try:
        st = a.status()
        check(st["enrolled"] is False and st["state"] == "not_enrolled", st)
        r = a.enroll(s.token())
        check(r.stdout.startswith("enrolled as d-") and s.url in r.stdout, r.stdout)
        st = a.status()
        dev = st["device_id"]
        check(st["enrolled"] is True and st["state"] == "enrolled", st)
        check(dev and dev.startswith("d-") and st["server"] == s.url, st)
        check(iso_to_unix(st["cert_not_after"]) > time.time() + 86400, st)
        check(st["last_checkin"] is None, st)
        key = os.path.join(a.state, a.meta("device_key"))
        check(os.stat(key).st_mode & 0o777 == 0o600, "device key mode %o" % os.stat(key).st_mode)
        # The serial the server lists is the one of the certificate the agent stored.
        d = device(s, dev)
        check(serials_equal(d["cert_serial"], a.cert_serial()),
              "server lists serial %s, agent holds %s" % (d["cert_serial"], a.cert_serial()))
        check(d["last_checkin"] is None and d["checkins"] == 0, d)
        # The CA the agent keeps is the server's own.
        check(a.meta("ca_cert").strip() == open(s.ca).read().strip(), "stored CA differs")

        r = a.cli("checkin")
        check("checked in" in r.stdout, r.stdout)
        st = a.status()
        check(st["last_checkin"] and abs(iso_to_unix(st["last_checkin"]) - time.time()) < 60, st)
        d = device(s, dev)
        check(d["checkins"] == 1 and d["last_checkin"], d)

        # ward run checks in at once and plans the next one.
        a.start()
        wait_until(lambda: checkins(s, dev) >= 2, 10, what="a check-in from ward run")
        st = wait_until(lambda: (lambda x: x if x["next_checkin"] else None)(a.status()), 5,
                        what="next_checkin in status")
        check(iso_to_unix(st["next_checkin"]) > time.time(), st)
        stop_clean(a)
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def impostor_chain(tmp, with_real_ca=None):
    """A CA of our own and a leaf for 127.0.0.1 signed by it; with_real_ca appends the
    genuine (public) CA certificate to the chain, as a smarter impostor would."""
    d = os.path.join(tmp, "impostor")
    os.makedirs(d, exist_ok=True)
    ca_key, ca, key, csr, leaf = (os.path.join(d, n) for n in
                                  ("ca.key", "ca.pem", "leaf.key", "leaf.csr", "leaf.pem"))
    ext = os.path.join(d, "ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ca_key)
    openssl("req", "-x509", "-new", "-key", ca_key, "-subj", "/CN=Ward CA", "-days", "2",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
            "keyUsage=critical,keyCertSign,cRLSign", "-out", ca)
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    openssl("req", "-new", "-key", key, "-subj", "/CN=127.0.0.1", "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days",
            "2", "-extfile", ext, "-out", leaf)
    chain = os.path.join(d, "chain.pem")
    with open(chain, "w") as f:
        f.write(open(leaf).read() + open(ca).read())
        if with_real_ca:
            f.write(open(with_real_ca).read())
    return chain, key


def case_wrong_pin(tmp):
    s = Server(tmp).start()
    a = Agent(tmp)
    try:
        tok = s.cli_json("token", "create")
        tid, good = tok["id"], tok["token"]
        f = token_fields(good)
        # 1. The real server, a token with the real URL and secret but another pin.
        bad = make_token(dict(f, ca_pin="sha256:" + secrets.token_hex(32)))
        r = a.enroll(bad, rc=None)
        uses = s.sql("SELECT uses FROM tokens WHERE id = ?", (tid,))
        check(uses == [(0,)], "the server got the secret: token uses %s" % uses)
        kinds = [k for (k,) in s.sql("SELECT kind FROM events")]
        check("enroll" not in kinds and "enroll_refused" not in kinds,
              "the server saw an enrollment attempt: %s" % kinds)
        one_line_error(r, "does not present the CA pinned in the token")
        check(a.status()["enrolled"] is False, "enrolled after a pin mismatch")

        # 2. Impostors that decrypt whatever they get: their own chain, and their own leaf
        # followed by the genuine CA. A secret sent would be in their request log.
        for n, (extra, needle) in enumerate(((None, "does not present the CA pinned"),
                                             (s.ca, "does not verify against the pinned CA"))):
            chain, key = impostor_chain(os.path.join(tmp, "i%d" % n), extra)
            fake = FakeService(0, chain, key)
            try:
                r = a.enroll(make_token(dict(f, url="https://127.0.0.1:%d" % fake.port)),
                             rc=None)
                check(fake.raw_conns >= 1, "the agent never connected to the impostor")
                check(fake.requests == [], "the impostor got the secret: %s" % fake.requests)
                check(fake.handshakes == 0, "a TLS session with the impostor was set up")
                one_line_error(r, needle)
            finally:
                fake.close()

        # The secret was never spent: the same token still enrolls, once.
        r = a.enroll(good)
        check(r.returncode == 0, r.stderr)
        check(s.sql("SELECT uses FROM tokens WHERE id = ?", (tid,)) == [(1,)], "uses")
    finally:
        s.stop()


def case_token_refusals(tmp):
    s = Server(tmp).start()
    try:
        expired = s.token("--ttl", "1s")
        t_exp = time.monotonic()
        first = Agent(tmp, "first")
        used = s.token("--uses", "1")
        first.enroll(used)
        a = Agent(tmp, "agent")
        rev = s.cli_json("token", "create")
        s.cli("token", "revoke", rev["id"])
        good = token_fields(s.token())
        wrong = dict(good, secret=good["secret"][:-1] + ("0" if good["secret"][-1] != "0"
                                                          else "1"))
        time.sleep(max(0, 2.2 - (time.monotonic() - t_exp)))
        msgs = {}
        for name, tok, needle in (
                ("expired", expired, "the enrollment token has expired"),
                ("used_up", used, "the enrollment token has no uses left"),
                ("revoked", rev["token"], "the enrollment token was revoked"),
                ("invalid", make_token(wrong), "the enrollment token is invalid"),
                ("malformed", "ward1.bm90IGpzb24", "the enrollment token is malformed")):
            msgs[name] = one_line_error(a.enroll(tok, rc=1), needle)
            check(a.status()["enrolled"] is False, "enrolled with a %s token" % name)
        check(len(set(msgs.values())) == len(msgs), "errors not distinct: %s" % msgs)
        check(len(s.devices()) == 1, "only the first agent is enrolled: %s" % s.devices())

        # --token-file: refused while others can read it (and left in place), used and
        # deleted once private.
        tf = os.path.join(tmp, "token")
        with open(tf, "w") as fh:
            fh.write(make_token(good) + "\n")
        os.chmod(tf, 0o644)
        one_line_error(a.cli("enroll", "--token-file", tf, rc=1), "readable by other users")
        check(os.path.exists(tf) and a.status()["enrolled"] is False, "token file state")
        os.chmod(tf, 0o600)
        r = a.cli("enroll", "--token-file", tf)
        check(r.stdout.startswith("enrolled as"), r.stdout)
        check(not os.path.exists(tf), "token file not deleted after success")
        check(a.status()["enrolled"] is True, "not enrolled from the token file")

        # WARD_ENROLL_TOKEN, for deployment tools.
        e = Agent(tmp, "env")
        env = dict(os.environ, WARD_ENROLL_TOKEN=s.token())
        r = e.cli("enroll", env=env)
        check(r.stdout.startswith("enrolled as"), r.stdout)
        check(e.status()["enrolled"] is True, "not enrolled from WARD_ENROLL_TOKEN")
        check(len(s.devices()) == 3, s.devices())
    finally:
        s.stop()


# ---- revocation, expiry, another service ---------------------------------------------------


def quiet_for(agent, proxy, seconds):
    """Asserts the agent neither connects nor sends a byte through proxy for seconds, and
    uses next to no CPU meanwhile."""
    c0 = proxy.counters()
    t0 = agent.proc.cpu_ticks()
    time.sleep(seconds)
    c1 = proxy.counters()
    ticks = agent.proc.cpu_ticks() - t0
    check(c1[:2] == c0[:2], "the agent contacted the service: %s -> %s" % (c0, c1))
    check(ticks <= 5 * seconds, "%d CPU ticks in %s s while idle" % (ticks, seconds))


def check_needs_reenrollment(agent, reason_part):
    st = agent.status()
    check(st["state"] == "needs_reenrollment" and st["enrolled"] is False, st)
    check(reason_part in (st["reenroll_reason"] or ""), st)
    check("ward enroll --force" in (st["hint"] or ""), st)
    text = agent.cli("status").stdout
    check("ward enroll --force" in text, "status text does not say what to do:\n" + text)


def reenroll_and_reload(s, a, url):
    """ward enroll --force with a new token while ward run is up, then SIGHUP."""
    r = a.enroll(token_via(s, url), extra=("--force",))
    check(r.returncode == 0, r.stderr)
    new = a.status()["device_id"]
    mark = a.proc.mark()
    a.proc.p.send_signal(signal.SIGHUP)
    a.proc.wait_for("enrolled as " + new, 10, start=mark)
    wait_until(lambda: checkins(s, new) >= 1, 10, what="a check-in of the new identity")
    st = a.status()
    check(st["state"] == "enrolled" and st["enrolled"] is True and st["device_id"] == new, st)
    return new


def case_revoked(tmp):
    s = Server(tmp).start()
    proxy = TcpProxy(s.port)
    a = Agent(tmp, config=FAST)
    try:
        a.enroll(token_via(s, proxy.url))
        dev = a.status()["device_id"]
        a.start()
        wait_until(lambda: checkins(s, dev) >= 1, 10, what="the first check-in")
        s.cli("device", "revoke", dev)
        # The wake makes the long-poll answer, so the agent checks in now, not in 15 min.
        s.cli("wake", dev, rc=None)
        a.proc.wait_for("needs re-enrollment", 15)
        check(a.proc.p.poll() is None, "ward run exited")
        check_needs_reenrollment(a, "device_revoked")
        quiet_for(a, proxy, 4)
        # The state survives a restart, still without contact.
        stop_clean(a)
        a.start()
        a.proc.wait_for("needs re-enrollment", 10)
        quiet_for(a, proxy, 2)
        new = reenroll_and_reload(s, a, proxy.url)
        check(new != dev, "same device id after re-enrollment")
        check(device(s, dev)["revoked_at"], "old device not revoked")
        stop_clean(a)
    finally:
        a.stop(signal.SIGKILL)
        proxy.close()
        s.stop()


def case_expired_cert(tmp):
    s = Server(tmp, ["--device-cert-ttl", "12s"]).start()
    proxy = TcpProxy(s.port)
    a = Agent(tmp, config=FAST)
    try:
        a.enroll(token_via(s, proxy.url))
        na = iso_to_unix(a.status()["cert_not_after"])
        check(na - time.time() < 20, "certificate lifetime not short: %s" % iso(na))
        # Out of service past the certificate's expiry.
        time.sleep(max(0, na + 1.5 - time.time()))
        c0 = proxy.counters()
        a.start()
        a.proc.wait_for("needs re-enrollment", 10)
        check_needs_reenrollment(a, "expired")
        quiet_for(a, proxy, 3)
        check(proxy.counters()[:2] == c0[:2], "an expired certificate was presented")
        reenroll_and_reload(s, a, proxy.url)
        stop_clean(a)
    finally:
        a.stop(signal.SIGKILL)
        proxy.close()
        s.stop()


def case_other_service(tmp):
    """The service's address now answers with a certificate from another CA (another
    ward-server): the agent refuses it as a TLS error, keeps its identity and recovers when
    its own service is back."""
    s = Server(tmp).start()
    a = Agent(tmp, config=FAST)
    try:
        a.enroll(s.token())
        before = a.identity()
        s.stop()
        other = Server(os.path.join(tmp, "other"), port=s.port).start()
        try:
            r = a.cli("checkin", rc=1)
            check("TLS" in r.stderr, r.stderr)
            check(a.identity() == before, "state changed after talking to another service")
            check(a.status()["state"] == "enrolled", "an impostor put the agent out of service")
            check(other.devices() == [], "the other service saw an enrollment")
        finally:
            other.stop()
        s.start()
        a.cli("checkin")
    finally:
        s.stop()


# ---- commands -----------------------------------------------------------------------------


def runs_of(text, command_id):
    return text.count("running command " + command_id)


def case_command_once(tmp):
    s = Server(tmp).start()
    a = Agent(tmp, config=FAST)
    try:
        a.enroll(s.token())
        dev = a.status()["device_id"]
        a.start()
        wait_until(lambda: checkins(s, dev) >= 1, 10, what="the first check-in")
        t0 = time.monotonic()
        c = s.cli_json("command", "send", dev, "ping")
        cid = c["command_id"]
        res = wait_until(lambda: (lambda x: x if x["status"] == "succeeded" else None)(
            command(s, cid)), 10, what="the ping's result")
        check(time.monotonic() - t0 < 8, "the long-poll did not bring the command promptly")
        check(res["result"]["output"] == {"pong": True}, res)
        # Another wake and check-in: nothing runs again.
        n = checkins(s, dev)
        s.cli("wake", dev)
        wait_until(lambda: checkins(s, dev) > n, 10, what="the woken check-in")
        time.sleep(0.5)
        check(runs_of(a.proc.text(), cid) == 1, "ran %d times" % runs_of(a.proc.text(), cid))
        check(a.sql("SELECT state, status FROM commands") == [("done", "succeeded")],
              a.sql("SELECT * FROM commands"))
        st = a.status()
        check(st["seq_high"] == 1 and st["pending_results"] == 0, st)
        check(len([e for (e,) in s.sql("SELECT detail FROM events WHERE kind ="
                                       " 'command_result'") if cid in e]) == 1, "results")
        stop_clean(a)
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_server_url_lock(tmp):
    """A configured server_url refuses tokens for any other service, before contacting it."""
    s = Server(tmp).start()
    a = Agent(tmp, config={"server_url": "https://mdm.example:8443"})
    try:
        tok = s.token()
        r = a.enroll(tok, rc=1)
        check("configured for https://mdm.example:8443" in r.stderr, r.stderr)
        check(s.sql("SELECT uses FROM tokens") == [(0,)], "the token was used")
        check(a.status()["enrolled"] is False, a.status())
        b = Agent(tmp, name="b", config={"server_url": s.url})
        b.enroll(tok)
        check(b.status()["enrolled"] is True, b.status())
    finally:
        s.stop()


def case_valgrind_enrolled(tmp):
    """The enrolled daemon under valgrind: check-ins, the long-poll, the first inventory
    upload and a command, then SIGTERM: exit 0, no memory errors, nothing leaked."""
    vg = "/usr/bin/valgrind"
    check(os.path.exists(vg), "valgrind missing: scripts/install-deps installs it")
    s = Server(tmp).start()
    a = Agent(tmp, config=FAST)
    try:
        a.enroll(s.token())
        dev = a.status()["device_id"]
        p = Proc([vg, "--leak-check=full", "--show-leak-kinds=definite,indirect",
                  "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99"]
                 + a.argv("run"))
        p.wait_for("running", timeout=60)
        wait_until(lambda: checkins(s, dev) >= 1, 60, what="the first check-in under valgrind")
        cid = s.cli_json("command", "send", dev, "ping")["command_id"]
        wait_until(lambda: command(s, cid)["status"] == "succeeded", 60,
                   what="the ping's result under valgrind")
        rc = p.stop(timeout=60)
        text = p.text()
        check(rc == 0, "valgrind/ward exit %d:\n%s" % (rc, text))
        check("ERROR SUMMARY: 0 errors" in text, text)
        check("definitely lost" not in text or "definitely lost: 0" in text, text)
    finally:
        s.stop()


def case_command_refusals(tmp):
    """Each envelope below passes every check but one, so the reason the agent reports is
    the one check that caught it, and without that check the command would have run."""
    s = Server(tmp).start()
    a = Agent(tmp)
    try:
        a.enroll(s.token())
        dev = a.status()["device_id"]
        other, _, _ = enroll_direct(s, tmp, s.token(), "other")
        want = {}

        # Another device's command, signed by the service, seq 1 (above our mark of 0):
        # moved into our queue by tampering with the server's database.
        x = s.cli_json("command", "send", other, "ping")["command_id"]
        s.sql("UPDATE commands SET device_id = ?, seq = ? WHERE command_id = ?",
              (dev, take_seq(s, dev), x))
        want[x] = "wrong_device"

        # Expired an hour ago (well past the 5 min skew allowance). ward-server never issues
        # such a command and delivers only unexpired ones, so this one is signed with the
        # service's own command key and queued with a future expiry in the server's row.
        seq = take_seq(s, dev)
        e = "c-" + secrets.token_hex(12)
        now = int(time.time())
        env = sign_envelope(s, {"command_id": e, "device_id": dev, "seq": seq, "type": "ping",
                                "params": {}, "issued_at": iso(now - 7200),
                                "expires_at": iso(now - 3600)})
        s.sql("INSERT INTO commands(command_id, device_id, seq, type, params, issued_at,"
              " expires_at, envelope) VALUES (?, ?, ?, 'ping', '{}', ?, ?, ?)",
              (e, dev, seq, now - 7200, now + 3600, env))
        want[e] = "expired"

        # One signature byte flipped.
        y = s.cli_json("command", "send", dev, "ping")["command_id"]
        env = envelope_of(s, y)
        sig = bytearray(base64.b64decode(env["signature"]))
        sig[17] ^= 0x01
        env["signature"] = base64.b64encode(bytes(sig)).decode()
        set_envelope(s, y, env)
        want[y] = "bad_signature"

        # The payload changed (ping -> sync), the signature kept.
        z = s.cli_json("command", "send", dev, "ping")["command_id"]
        env = envelope_of(s, z)
        raw = base64.b64decode(env["payload"])
        check(b'"type":"ping"' in raw, raw)
        env["payload"] = base64.b64encode(raw.replace(b'"type":"ping"', b'"type":"sync"'))\
            .decode()
        set_envelope(s, z, env)
        want[z] = "bad_signature"

        # A genuine command held back on the server while a later one is delivered first.
        w = s.cli_json("command", "send", dev, "ping")["command_id"]
        s.sql("UPDATE commands SET status = 'held' WHERE command_id = ?", (w,))
        v = s.cli_json("command", "send", dev, "ping")["command_id"]

        out = a.cli("-v", "checkin").stderr
        check(runs_of(out, v) == 1, "the valid command did not run once:\n" + out)
        vseq = command(s, v)["seq"]
        check(a.status()["seq_high"] == vseq, a.status())

        # Now the held one, still validly signed for us and unexpired, but below the mark
        # (the server's row gets a higher seq so it is delivered at all).
        s.sql("UPDATE commands SET status = 'queued', seq = ? WHERE command_id = ?",
              (take_seq(s, dev), w))
        want[w] = "replayed"
        out += a.cli("-v", "checkin").stderr

        # An exact copy of the executed envelope, queued under a new server-side id: the
        # agent knows the command id from its journal and drops it without running it
        # (its one result was reported already).
        r = "c-" + secrets.token_hex(12)
        s.sql("INSERT INTO commands(command_id, device_id, seq, type, params, issued_at,"
              " expires_at, envelope) SELECT ?, device_id, ?, type, params, issued_at,"
              " expires_at, envelope FROM commands WHERE command_id = ?",
              (r, take_seq(s, dev), v))
        out += a.cli("-v", "checkin").stderr

        cmds = {c["command_id"]: c for c in s.commands(dev)}
        for cid, reason in want.items():
            c = cmds[cid]
            check(c["status"] == "rejected" and c["result"]["status"] == "rejected" and
                  c["result"]["error"] == reason,
                  "%s: wanted rejected/%s, got %s %s" % (cid, reason, c["status"], c["result"]))
            check(runs_of(out, cid) == 0, "refused command %s ran" % cid)
            check(("refused command %s" % cid) in out, "refusal of %s not logged" % cid)
        check(cmds[v]["status"] == "succeeded" and runs_of(out, v) == 1, cmds[v])
        check(cmds[r]["status"] == "delivered" and cmds[r]["result"] is None, cmds[r])
        journal = dict((i, (st, status)) for i, st, status in
                       a.sql("SELECT command_id, state, status FROM commands"))
        for cid in want:
            check(journal[cid] == ("done", "rejected"), (cid, journal[cid]))
        check(journal[v] == ("done", "succeeded") and r not in journal, journal)
        check(a.status()["pending_results"] == 0, a.status())
    finally:
        s.stop()


def crash_case(tmp, server_trigger=None, agent_trigger=None, wait_line=None, final="succeeded",
               runs=(1, 0)):
    """Sends one ping to a running agent, lets an injected fault (trigger) hold the
    exchange at one step, kill -9s the agent there, removes the fault and restarts it.
    Then: exactly `runs` executions in the two runs and one result of status `final`."""
    s = Server(tmp).start()
    a = Agent(tmp, config=FAST)
    try:
        a.enroll(s.token())
        dev = a.status()["device_id"]
        if server_trigger:
            s.sql(server_trigger)
        if agent_trigger:
            a.sql(agent_trigger)
        a.start()
        wait_until(lambda: checkins(s, dev) >= 1, 10, what="the first check-in")
        cid = s.cli_json("command", "send", dev, "ping")["command_id"]
        a.proc.wait_for(wait_line.format(cid=cid), 15)
        check(command(s, cid)["result"] is None, "a result reached the server")
        journal1 = a.sql("SELECT state, status FROM commands WHERE command_id = ?", (cid,))
        check(a.proc.stop(signal.SIGKILL) == -signal.SIGKILL, "not killed")
        first = a.proc.text()
        a.proc = None
        for tr in (server_trigger, agent_trigger):
            if tr:
                name = re.search(r"TRIGGER (\w+)", tr).group(1)
                (s if tr is server_trigger else a).sql("DROP TRIGGER " + name)
        a.start()
        res = wait_until(lambda: (lambda c: c if c["result"] else None)(command(s, cid)), 15,
                         what="the command's result after the restart")
        time.sleep(1)  # room for a (wrong) second execution or result
        second = a.proc.text()
        got = (runs_of(first, cid), runs_of(second, cid))
        check(got == runs, "executions per run %s, wanted %s" % (got, runs))
        check(res["status"] == final and res["result"]["status"] == final, res)
        results = [d for (d,) in s.sql("SELECT detail FROM events WHERE kind ="
                                       " 'command_result'") if cid in d]
        check(len(results) == 1, "results stored: %s" % results)
        state = "interrupted" if final == "interrupted" else "done"
        check(a.sql("SELECT state, status FROM commands WHERE command_id = ?", (cid,)) ==
              [(state, final)], a.sql("SELECT * FROM commands"))
        check(a.status()["pending_results"] == 0, a.status())
        stop_clean(a)
        return journal1, res
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


def case_kill9_before_result(tmp):
    """The command ran and its result waits in the outbox; the service cannot store results
    (a trigger makes the server's update fail, so it answers 500); kill -9 there."""
    journal, res = crash_case(
        tmp,
        server_trigger="CREATE TRIGGER ward_test_no_results BEFORE UPDATE OF result ON commands"
                       " WHEN NEW.result IS NOT NULL BEGIN SELECT RAISE(ABORT, 'injected'); END",
        wait_line="result upload failed", final="succeeded", runs=(1, 0))
    check(journal == [("done", "succeeded")], journal)
    check(res["result"]["output"] == {"pong": True}, res)


def case_kill9_while_running(tmp):
    """The agent dies while the command runs (its journal row stays `running`): the restart
    reports it `interrupted` and never runs it again."""
    journal, res = crash_case(
        tmp,
        agent_trigger="CREATE TRIGGER ward_test_crash BEFORE UPDATE OF state ON commands"
                      " WHEN OLD.state = 'running' AND NEW.state = 'done'"
                      " BEGIN SELECT RAISE(ABORT, 'injected'); END",
        wait_line="command journal failed", final="interrupted", runs=(1, 0))
    check(journal == [("running", None)], journal)
    check("not run again" in (res["result"]["error"] or ""), res)


def case_kill9_after_receipt(tmp):
    """The agent dies after journaling the command as accepted, before starting it: the
    restart runs it once (the server does not redeliver it: the mark moved)."""
    journal, res = crash_case(
        tmp,
        agent_trigger="CREATE TRIGGER ward_test_stall BEFORE UPDATE OF state ON commands"
                      " WHEN NEW.state = 'running' BEGIN SELECT RAISE(ABORT, 'injected'); END",
        wait_line="command journal failed", final="succeeded", runs=(0, 1))
    check(journal == [("accepted", None)], journal)


# ---- service down, hanging, garbage --------------------------------------------------------


RETRY = re.compile(r"check-in failed.*; retry (\d+) in (\d+(?:\.\d+)?) s")


def attempts(lines):
    """[(time, attempt number, announced delay)] from the agent's retry warnings."""
    return [(t, int(m.group(1)), float(m.group(2))) for t, l in lines
            for m in [RETRY.search(l)] if m]


def check_ladder(att, base, cap, timed):
    """Each announced delay is within the doubling ladder and the cap (full jitter picks
    below the ceiling), and for the first `timed` attempts (instant failures) the observed
    spacing of the attempts matches the announcement."""
    for i, (t, n, d) in enumerate(att):
        check(n == att[0][1] + i, "attempt numbers not consecutive: %s" % att)
        ceiling = min(base * 2 ** (n - 1), cap)
        check(1 <= d <= ceiling, "attempt %d: delay %.3f s over its ceiling %d" % (n, d, ceiling))
    for (t1, n, d), (t2, _, _) in list(zip(att, att[1:]))[:timed]:
        check(d - 0.3 <= t2 - t1 <= d + 1.5, "attempt %d: announced %.3f s, waited %.2f s"
              % (n, d, t2 - t1))


def case_server_down(tmp):
    base, cap, ctimeout = 1, 4, 2
    s = Server(tmp, ["--checkin-interval", "30s"]).start()
    a = Agent(tmp, config={"backoff_base": base, "backoff_cap": cap,
                           "connect_timeout": ctimeout})
    try:
        a.enroll(s.token())
        dev = a.status()["device_id"]
        s.stop()
        # 1. Port closed: connection refused at once; only the backoff spaces the attempts.
        a.start()
        mark = a.proc.mark()
        t0, ticks0 = time.monotonic(), a.proc.cpu_ticks()
        wait_until(lambda: len(a.proc.matching("check-in failed", mark)) >= 7, 40,
                   what="7 failed check-ins")
        elapsed, ticks = time.monotonic() - t0, a.proc.cpu_ticks() - ticks0
        check(ticks <= elapsed * 3, "%d CPU ticks in %.1f s with the service down"
              % (ticks, elapsed))
        closed = a.proc.matching("check-in failed", mark)
        check(all("could not connect" in l for _, l in closed), closed[0][1])
        st = a.status()
        check("could not connect" in (st["last_error"] or ""), st)
        check_ladder(attempts(a.proc.matching("check-in failed", mark)), base, cap, 6)

        # 2. A listener that accepts and never answers: each attempt ends at the agent's own
        # connect timeout, then backs off the same way.
        quiet = SilentListener(s.port)
        mark2 = a.proc.mark()
        try:
            wait_until(lambda: len(a.proc.matching("check-in failed", mark2)) >= 3, 40,
                       what="3 failed check-ins against a silent listener")
        finally:
            quiet.close()
        hung = a.proc.matching("check-in failed", mark2)
        check(len(quiet.accepted) >= 2, "the silent listener saw %d connections"
              % len(quiet.accepted))
        check(all("timed out" in l for _, l in hung[1:]), hung)

        att = attempts(a.proc.matching("check-in failed", mark))
        check_ladder(att, base, cap, 6)
        check(len(att) >= 10, att)
        # Full jitter draws each delay in [0, ceiling] (at least 1 s): with ceilings of 4 s
        # from the third attempt on, eight or more draws all at the 1 s floor would mean the
        # ladder is not climbing (chance (1/4)^8 when it is).
        check(max(d for _, n, d in att if n >= 3) > base,
              "the delay never grew past the first step: %s" % att)

        # 3. Back: the next attempt (at most the cap away) succeeds.
        t_up = time.monotonic()
        s.start()
        wait_until(lambda: checkins(s, dev) >= 1, cap + ctimeout + 4,
                   what="recovery once the service is back")
        check(time.monotonic() - t_up <= cap + ctimeout + 4, "slow recovery")
        stop_clean(a)
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


EXPECT = {
    "html": "protocol error",
    "truncated": "protocol error",
    "empty": "protocol error",
    "huge": "size limit exceeded",
    "chunked": "size limit exceeded",
    "503": "unexpected HTTP status: unavailable",
}


def case_garbage_answers(tmp):
    s = Server(tmp).start()
    a = Agent(tmp, config={"backoff_base": 1, "backoff_cap": 2})
    try:
        a.enroll(s.token())
        dev = a.status()["device_id"]
        s.cli("command", "send", dev, "ping")
        a.cli("checkin")
        check(a.status()["seq_high"] == 1, a.status())
        before = a.identity()
        s.stop()
        fake = FakeService(s.port, os.path.join(s.dir, "server.pem"),
                           os.path.join(s.dir, "server.key"), client_ca=s.ca)
        try:
            fake.mode = "html"
            a.start()
            for mode, text in EXPECT.items():
                fake.mode = mode
                req = wait_until(lambda: [r for r in fake.posts() if r[3] == mode], 15,
                                 what="a check-in answered with " + mode)[0]
                fail = wait_until(lambda: [l for t, l in a.proc.matching("check-in failed")
                                           if t > req[0]], 15,
                                  what="the agent's verdict on " + mode)[0]
                check(all(part in fail for part in text.split(": ")),
                      "%s: wanted %r in: %s" % (mode, text, fail))
                check(a.proc.p.poll() is None, "ward run died on " + mode)
                le = a.status()["last_error"] or ""
                check("check-in: " + text in le, "%s: last_error %r" % (mode, le))
                if mode in ("huge", "chunked"):
                    wait_until(lambda: len(fake.streamed) >= (1 if mode == "huge" else 2), 10,
                               what="the end of the streamed answer")
                    sent = fake.streamed[-1]
                    check(sent < 32 << 20, "%s: the agent read %d bytes" % (mode, sent))
            # 503 with Retry-After: 7 postpones the next attempt by at least 7 s (the
            # configured backoff alone would be at most 2 s).
            t503 = [r[0] for r in fake.posts() if r[3] == "503"][0]
            fake.mode = "html"
            nxt = wait_until(lambda: [r[0] for r in fake.posts() if r[0] > t503], 15,
                             what="the attempt after the 503")[0]
            check(nxt - t503 >= 6.9, "retried %.2f s after Retry-After: 7" % (nxt - t503))
            check(a.identity() == before, "the garbage changed the agent's state")
            check(a.status()["state"] == "enrolled", a.status())
        finally:
            fake.close()
        # The real service back: the agent recovers with its identity intact.
        s.start()
        try:
            wait_until(lambda: checkins(s, dev) >= 2, 10, what="recovery")
        except Fail:
            print(a.proc.text())
            raise
        stop_clean(a)
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


# ---- renewal ----------------------------------------------------------------------------


def case_renewal(tmp):
    """Certificates valid for 60 s with the default 15 min check-in interval: the agent must
    renew and check in before each certificate expires, and the server retires the old
    serial once the new one is used."""
    # init refuses what serve could not load back, and leaves nothing behind.
    for opt, v in (("--device-cert-ttl", "5s"), ("--checkin-interval", "10s")):
        d = os.path.join(tmp, "refused")
        r = run([SERVER, "--data-dir", d, "init", "--listen", "127.0.0.1:8443", opt, v])
        check(r.returncode == 1 and "must be between" in r.stderr and not os.path.exists(d),
              "init %s %s: %d %s" % (opt, v, r.returncode, r.stderr))
    s = Server(tmp, ["--device-cert-ttl", "60s"]).start()
    a = Agent(tmp, config=FAST)
    try:
        a.enroll(s.token())
        dev = a.status()["device_id"]
        serial0 = a.cert_serial()
        a.start()
        a.proc.wait_for("device certificate renewed", 50)
        wait_until(lambda: checkins(s, dev) >= 1, 10, what="a check-in after renewal")
        serial1 = a.cert_serial()
        check(not serials_equal(serial0, serial1), "serial unchanged")
        d = device(s, dev)
        check(serials_equal(d["cert_serial"], serial1), (d, serial1))
        # The new certificate was used, so the server no longer accepts the old serial
        # (it matches neither the current nor the previous one; see the mTLS lookup).
        rows = s.sql("SELECT cert_serial, prev_cert_serial FROM devices WHERE device_id = ?",
                     (dev,))
        check(not any(x and serials_equal(x, serial0) for x in rows[0]),
              "old certificate not retired: %s" % (rows,))
        st = a.status()
        na = iso_to_unix(st["cert_not_after"])
        check(st["next_checkin"] and iso_to_unix(st["next_checkin"]) < na,
              "next check-in %s is after the certificate expires (%s)"
              % (st["next_checkin"], st["cert_not_after"]))
        # And again before that certificate runs out: the device never lapses.
        mark = a.proc.mark()
        a.proc.wait_for("device certificate renewed", na - time.time() + 2, start=mark)
        check(time.time() < na, "renewed only after expiry")
        wait_until(lambda: serials_equal(device(s, dev)["cert_serial"], a.cert_serial()), 10,
                   what="the server to list the newest serial")
        check(a.status()["state"] == "enrolled", a.status())
        check(len(s.cli_json("device", "show", dev)["certificates"]) >= 3, "certificates")
        stop_clean(a)
    finally:
        a.stop(signal.SIGKILL)
        s.stop()


if __name__ == "__main__":
    main({k[5:]: v for k, v in globals().items() if k.startswith("case_")})
