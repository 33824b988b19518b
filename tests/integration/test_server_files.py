#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""ward-server's files for agents and the typed device commands, over real TLS on
loopback: `file add` / `files`, GET /api/v1/files/<sha256> fetched with curl and a device
certificate (whole, byte ranges, 416, 404, no certificate, revoked device, a slow reader),
the friendly `command send` forms and the parameters they queue, refusals of bad
parameters, and results that are not final (accepted, running) before a final one. The
device is made through the server's own enrollment path (enroll_direct), so no agent is
needed. Usage: test_server_files.py CASE (WARD_SERVER_BIN)."""
import hashlib
import json
import os
import subprocess
import time

from wardlib import SERVER, Server, check, enroll_direct, https, main, run

CURL = "/usr/bin/curl"


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def curl(s, path, cert=None, key=None, headers=(), extra=()):
    """One GET with curl; returns (status, headers dict (lower-case names), body bytes)."""
    argv = [CURL, "-sS", "--cacert", s.ca, "-D", "-", "-o", "-", "--max-time", "60"]
    if cert:
        argv += ["--cert", cert, "--key", key]
    for h in headers:
        argv += ["-H", h]
    argv += list(extra) + [s.url + path]
    r = subprocess.run(argv, capture_output=True, timeout=90)
    check(r.returncode == 0, "curl failed (%d): %s" % (r.returncode, r.stderr.decode()))
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


def case_files_over_mtls(tmp):
    s = Server(tmp).start()
    try:
        dev, cert, key = enroll_direct(s, tmp, s.token())
        data = os.urandom(3 * 1024 * 1024 + 12345)  # several engine chunks, not aligned
        src = write(os.path.join(tmp, "payload.bin"), data)
        sha = hashlib.sha256(data).hexdigest()
        added = s.cli_json("file", "add", src)
        check(added["sha256"] == sha and added["length"] == len(data), added)
        check(added["url"] == "/api/v1/files/" + sha and added["name"] == "payload.bin", added)
        text = s.cli("file", "add", src).stdout.split()
        check(text == [sha, str(len(data))], text)  # adding it again: the same record
        stored = os.path.join(s.dir, "files", sha)
        check(os.stat(stored).st_mode & 0o777 == 0o600, oct(os.stat(stored).st_mode))
        check(open(stored, "rb").read() == data, "stored copy differs")
        check(not [n for n in os.listdir(os.path.join(s.dir, "files")) if n != sha],
              "temp files left: %s" % os.listdir(os.path.join(s.dir, "files")))
        listed = s.cli_json("files")
        check([f["sha256"] for f in listed] == [sha], listed)
        check(sha in s.cli("files").stdout, "files table")
        check(run([SERVER, "--data-dir", s.dir, "file", "add",
                   os.path.join(tmp, "missing")]).returncode == 1, "missing file added")
        empty = write(os.path.join(tmp, "empty"), b"")
        r = s.cli("file", "add", empty, rc=1)
        check("empty" in r.stderr, r.stderr)

        url = "/api/v1/files/" + sha
        st, h, body = curl(s, url, cert, key)
        check(st == 200 and body == data, (st, h, len(body)))
        check(h["content-length"] == str(len(data)), h)
        check(h.get("accept-ranges") == "bytes" and h.get("etag") == '"sha256:%s"' % sha, h)
        check(h["content-type"] == "application/octet-stream", h)

        st, h, body = curl(s, url, cert, key, headers=["Range: bytes=1000000-"])
        check(st == 206 and body == data[1000000:], (st, h, len(body)))
        check(h["content-range"] == "bytes 1000000-%d/%d" % (len(data) - 1, len(data)), h)
        check(h["content-length"] == str(len(data) - 1000000), h)

        st, h, body = curl(s, url, cert, key, headers=["Range: bytes=10-19"])
        check(st == 206 and body == data[10:20], (st, h, body))
        check(h["content-range"] == "bytes 10-19/%d" % len(data), h)

        st, h, body = curl(s, url, cert, key, headers=["Range: bytes=-5"])
        check(st == 206 and body == data[-5:], (st, h, body))

        st, h, body = curl(s, url, cert, key, headers=["Range: bytes=%d-" % len(data)])
        check(st == 416 and h["content-range"] == "bytes */%d" % len(data), (st, h))
        check(json.loads(body)["error"]["code"] == "range_not_satisfiable", body)

        # Unknown, malformed, upper-case: all 404.
        for bad in ("0" * 64, "xyz", sha.upper(), sha + "0", sha[:-1]):
            st, h, body = curl(s, "/api/v1/files/" + bad, cert, key)
            check(st == 404 and json.loads(body)["error"]["code"] == "not_found", (bad, st, body))

        # Two files on one kept-alive connection, then a JSON request behind them: the
        # next request is served only after the body is out, in order.
        common = [CURL, "-sS", "--cacert", s.ca, "--cert", cert, "--key", key, "-w",
                  "%{http_code} %{num_connects}\\n"]
        argv = (common + ["-o", os.path.join(tmp, "a"), s.url + url, "--next"] + common[1:]
                + ["-H", "Range: bytes=5-", "-o", os.path.join(tmp, "b"), s.url + url])
        r = subprocess.run(argv, capture_output=True, text=True, timeout=90)
        check(r.returncode == 0, r.stderr)
        check(r.stdout.split() == ["200", "1", "206", "0"], r.stdout)
        check(open(os.path.join(tmp, "a"), "rb").read() == data, "first body")
        check(open(os.path.join(tmp, "b"), "rb").read() == data[5:], "second body")

        # A slow reader gets everything (backpressure, not buffering): 3 MiB at 1 MiB/s.
        t0 = time.monotonic()
        st, h, body = curl(s, url, cert, key, extra=["--limit-rate", "1M"])
        check(st == 200 and body == data, (st, len(body)))
        check(time.monotonic() - t0 > 1.5, "rate limit had no effect?")

        # No client certificate: refused; and the server still serves afterwards.
        st, h, body = curl(s, url)
        check(st == 401 and json.loads(body)["error"]["code"] == "client_certificate_required",
              (st, body))
        st, body2 = https(s, "GET", url, cert=cert, key=key)
        check(st == 200 and body2 == data, (st, len(body2)))

        # A revoked device is refused.
        s.cli("device", "revoke", dev)
        st, h, body = curl(s, url, cert, key)
        check(st == 403 and json.loads(body)["error"]["code"] == "device_revoked", (st, body))
    finally:
        rc = s.stop()
    check(rc == 0, "server exit %d" % rc)


def send(s, *args):
    """command send (JSON); returns the params the server stored for the command."""
    out = s.cli_json("command", "send", *args)
    shown = s.cli_json("commands", "show", out["command_id"])
    check(shown["command_id"] == out["command_id"] and shown["status"] == "queued", shown)
    return out, shown


def refused(s, *args, want=()):
    before = len(s.commands())
    r = s.cli("command", "send", *args, rc=1)
    for w in want:
        check(w in r.stderr, "stderr lacks %r: %s" % (w, r.stderr))
    check(len(s.commands()) == before, "a refused command was queued")
    return r


def case_command_forms(tmp):
    s = Server(tmp)
    dev, cert, key = None, None, None
    s.start()
    try:
        dev, cert, key = enroll_direct(s, tmp, s.token())
    finally:
        s.stop()
    # The forms work whether or not the server runs (it is woken when it does).
    small = write(os.path.join(tmp, "hello.sh"), b"#!/bin/sh\necho hello\n")
    big_data = b"# padding\n" * 30000  # 300000 bytes: over the 256 KiB inline limit
    big = write(os.path.join(tmp, "big.sh"), big_data)
    pkg = write(os.path.join(tmp, "tool_1.0_amd64.deb"), os.urandom(5000))

    def ref(data):
        sha = hashlib.sha256(data).hexdigest()
        return {"url": "/api/v1/files/" + sha, "sha256": sha, "length": len(data)}

    cases = [
        (("lock",), "lock", {}),
        (("reboot", "--grace", "30", "--deadline", "2030-01-01T00:00:00Z", "--deferrals", "3",
          "--message", "Saving your work"), "reboot",
         {"grace_seconds": 30, "deadline": "2030-01-01T00:00:00Z", "deferrals": 3,
          "message": "Saving your work"}),
        (("shutdown", "--grace", "5m"), "shutdown", {"grace_seconds": 300}),
        (("script", small, "--interpreter", "/bin/bash", "--user", "nobody", "--timeout", "60",
          "--arg", "a b", "--arg", "-x"), "run_script",
         {"interpreter": "/bin/bash", "script": "#!/bin/sh\necho hello\n", "user": "nobody",
          "timeout": 60, "args": ["a b", "-x"]}),
        (("script", small), "run_script",
         {"interpreter": "/bin/sh", "script": "#!/bin/sh\necho hello\n"}),
        (("script", big), "run_script", {"interpreter": "/bin/sh", "file": ref(big_data)}),
        (("package", "install", "jq", "libssl3:amd64"), "package",
         {"action": "install", "names": ["jq", "libssl3:amd64"]}),
        (("package", "remove", "nano"), "package", {"action": "remove", "names": ["nano"]}),
        (("package", "upgrade", "openssl"), "package",
         {"action": "upgrade", "names": ["openssl"]}),
        (("package-file", pkg), "package",
         {"action": "install", "file": ref(open(pkg, "rb").read())}),
        (("os-update",), "os_update", {}),
        (("os-update", "--security", "--reboot"), "os_update",
         {"security_only": True, "reboot": True}),
        (("selective-wipe",), "selective_wipe", {}),
        (("full-wipe",), "full_wipe", {}),
        (("full-wipe", "--device", "/dev/nvme0n1", "--device", "/dev/disk/by-id/ata-X_1",
          "--allow-overwrite"), "full_wipe",
         {"devices": ["/dev/nvme0n1", "/dev/disk/by-id/ata-X_1"], "allow_overwrite": True}),
        # The generic form with typed --param values.
        (("reboot", "--param", "grace_seconds=10", "--param", "message=bye"), "reboot",
         {"grace_seconds": 10, "message": "bye"}),
        (("run_script", "--param", "interpreter=/usr/bin/python3", "--param",
          "script=print(1)", "--param", 'args=["-u"]'), "run_script",
         {"interpreter": "/usr/bin/python3", "script": "print(1)", "args": ["-u"]}),
        (("os_update", "--param", "security_only=true"), "os_update", {"security_only": True}),
        (("sync", "--param", "why=test"), "sync", {"why": "test"}),
    ]
    ids = {}
    for args, typ, params in cases:
        out, shown = send(s, dev, *args)
        check(shown["type"] == typ and shown["params"] == params,
              "%s: %s %s" % (args, shown["type"], shown["params"]))
        ids[args[0]] = out["command_id"]
    # The big script and the package were added as files.
    shas = {f["sha256"] for f in s.cli_json("files")}
    check(shas == {ref(big_data)["sha256"], ref(open(pkg, "rb").read())["sha256"]}, shas)
    text = s.cli("command", "send", dev, "lock").stdout
    check("queued" in text and "(lock, seq" in text, text)

    # Bad forms: a clear message naming the field, exit status 1, nothing queued.
    refused(s, dev, "script", small, "--interpreter", "/usr/bin/perl",
            want=("params.interpreter", "/usr/bin/perl", "/bin/sh"))
    refused(s, dev, "package", "frobnicate", "jq", want=("params.action", "frobnicate"))
    refused(s, dev, "package", "install", "bad name!", want=("params.names[0]",))
    refused(s, dev, "reboot", "--deferrals", "99", want=("params.deferrals", "99", "[0, 10]"))
    refused(s, dev, "reboot", "--grace", "90000", want=("params.grace_seconds",))
    refused(s, dev, "reboot", "--deadline", "tomorrow", want=("params.deadline",))
    refused(s, dev, "reboot", "--message", "x" * 257, want=("params.message", "257 bytes"))
    refused(s, dev, "reboot", "--param", "foo=1", "--param", "bar=2",
            want=("unknown members", "'foo'", "'bar'", "grace_seconds"))
    refused(s, dev, "lock", "--param", "now=true",
            want=("unknown member 'now'", "takes no parameters"))
    refused(s, dev, "script", small, "--user", "-root", want=("params.user",))
    refused(s, dev, "script", small, "--timeout", "0", want=("params.timeout",))
    refused(s, dev, "run_script", "--param", "interpreter=/bin/sh",
            want=("exactly one of 'script'",))
    refused(s, dev, "run_script", "--param", "interpreter=/bin/sh", "--param", "script=x",
            "--param", 'file={"url": "/api/v1/files/%s", "sha256": "%s", "length": 1}'
            % ("a" * 64, "a" * 64), want=("exactly one of",))
    refused(s, dev, "run_script", "--param", "interpreter=/bin/sh", "--param",
            'file={"url": "/api/v1/files/%s", "sha256": "%s", "length": 5}' % ("b" * 64, "b" * 64),
            want=("no file", "file add"))
    refused(s, dev, "run_script", "--param", "interpreter=/bin/sh", "--param",
            'file={"url": "/x", "sha256": "%s", "length": 5}' % ("b" * 64),
            want=("params.file.url",))
    refused(s, dev, "package", "--param", "action=remove", "--param",
            "file=" + json.dumps(ref(open(pkg, "rb").read())), want=("only be installed",))
    refused(s, dev, "full-wipe", "--device", "/etc/passwd", want=("params.devices[0]",))
    refused(s, dev, "full-wipe", "--device", "/dev/../etc/shadow", want=("params.devices[0]",))
    refused(s, dev, "os-update", "--param", "reboot=yes",
            want=("params.reboot", "expected boolean"))
    r = refused(s, dev, "format-disk", want=("unknown command type 'format-disk'", "full_wipe"))
    r = s.cli("command", "send", dev, "reboot", "--deferrals", "many", rc=2)
    check("--deferrals" in r.stderr, r.stderr)
    refused(s, dev, "package", want=("params.action", "missing"))
    r = s.cli("command", "send", dev, "package", "install", rc=2)
    check("usage" in r.stderr, r.stderr)
    r = s.cli("commands", "show", "c-nonexistent", rc=1)
    check("no command" in r.stderr, r.stderr)


def case_results_progress(tmp):
    s = Server(tmp).start()
    try:
        dev, cert, key = enroll_direct(s, tmp, s.token())
        script = write(os.path.join(tmp, "s.sh"), b"echo one; echo two; echo err >&2\n")
        cid = s.cli_json("command", "send", dev, "script", script)["command_id"]
        reb = s.cli_json("command", "send", dev, "reboot", "--grace", "0")["command_id"]
        st, body = https(s, "POST", "/api/v1/checkin", {"seq_high": 0}, cert=cert, key=key)
        check(st == 200 and len(body["commands"]) == 2, body)

        def post(*results):
            st, r = https(s, "POST", "/api/v1/results", {"results": list(results)}, cert=cert,
                          key=key)
            check(st == 200, (st, r))
            return r

        def show(c):
            return s.cli_json("commands", "show", c)

        # accepted, then running with progress, then the final result.
        r = post({"command_id": reb, "seq": 2, "status": "accepted",
                  "output": {"reboot_at": "2030-01-01T00:00:00Z"}})
        check(r["ack"] == [reb], r)
        x = show(reb)
        check(x["status"] == "accepted" and x["finished_at"] is None and x["updated_at"], x)
        post({"command_id": cid, "seq": 1, "status": "running", "output": {"progress": 10}})
        post({"command_id": cid, "seq": 1, "status": "running", "output": {"progress": 50}})
        x = show(cid)
        check(x["status"] == "running" and x["result"]["output"]["progress"] == 50, x)
        # An accepted or running command is not delivered again.
        st, body = https(s, "POST", "/api/v1/checkin", {"seq_high": 0}, cert=cert, key=key)
        check(body["commands"] == [], body)
        final = {"command_id": cid, "seq": 1, "status": "succeeded",
                 "started_at": "2030-01-01T00:00:00Z", "finished_at": "2030-01-01T00:00:01Z",
                 "output": {"exit_code": 0, "stdout": "one\ntwo\n", "stderr": "err\n",
                            "stdout_dropped": 0, "stderr_dropped": 0},
                 "receipt": {"sha256": "ab" * 32}, "error": None}
        check(post(final)["ack"] == [cid], "final ack")
        x = show(cid)
        check(x["status"] == "succeeded" and x["finished_at"], x)
        check(x["result"]["output"]["stdout"] == "one\ntwo\n", x)
        # Nothing replaces a final result: acknowledged, kept.
        r = post({"command_id": cid, "seq": 1, "status": "running", "output": {}},
                 dict(final, status="failed"))
        check(r["ack"] == [cid, cid] and r["rejected"] == [], r)
        check(show(cid)["status"] == "succeeded", show(cid))
        text = s.cli("commands", "show", cid).stdout
        for want in ("status:     succeeded", "exit code:  0", "stdout:", "    one", "    two",
                     "stderr:", "    err", "receipt:", "abab"):
            check(want in text, "show lacks %r:\n%s" % (want, text))
        # The reboot's final result after the device came back.
        post({"command_id": reb, "seq": 2, "status": "succeeded", "output": {"booted": True}})
        check(show(reb)["status"] == "succeeded", show(reb))
        # Unknown statuses are refused (listed in rejected, nothing stored).
        third = s.cli_json("command", "send", dev, "lock")["command_id"]
        r = post({"command_id": third, "seq": 3, "status": "paused"})
        check(r["ack"] == [] and r["rejected"] == [third], r)
        # One event per stored result: reb accepted+succeeded, cid 2 running+succeeded.
        details = [d for (d,) in s.sql("SELECT detail FROM events WHERE kind ="
                                      " 'command_result' ORDER BY id")]
        check(details == ["%s accepted" % reb, "%s running" % cid, "%s running" % cid,
                          "%s succeeded" % cid, "%s succeeded" % reb], details)
    finally:
        s.stop()


if __name__ == "__main__":
    main({k[5:]: v for k, v in globals().items() if k.startswith("case_")})
