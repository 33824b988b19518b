# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for Ward's integration tests: a real ward-server in a temporary data
directory on a free loopback port, the `ward` agent as a process with its own state dir,
and a small mutual-TLS client (Python's ssl module) for talking to the server directly.

Binaries come from the environment the ctest registration sets: WARD_BIN and
WARD_SERVER_BIN. Everything stays on 127.0.0.1."""
import base64
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

WARD = os.environ.get("WARD_BIN", "ward")
SERVER = os.environ.get("WARD_SERVER_BIN", "ward-server")
OPENSSL = "/usr/bin/openssl"


class Fail(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Proc:
    """A child process whose stdout and stderr lines are collected by reader threads."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.lines = []
        self.cv = threading.Condition()
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env)
        self.threads = [threading.Thread(target=self._read, args=(f,), daemon=True)
                        for f in (self.p.stdout, self.p.stderr)]
        for t in self.threads:
            t.start()

    def _read(self, f):
        for line in f:
            with self.cv:
                self.lines.append(line.rstrip("\n"))
                self.cv.notify_all()

    def text(self):
        with self.cv:
            return "\n".join(self.lines)

    def wait_for(self, needle, timeout=10, start=0):
        """Waits for a line containing needle (from line index start); returns its index."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for i in range(start, len(self.lines)):
                    if needle in self.lines[i]:
                        return i
                left = deadline - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    raise Fail("%s: no line with %r within %ss; output:\n%s"
                               % (os.path.basename(self.argv[0]), needle, timeout,
                                  "\n".join(self.lines)))
                self.cv.wait(min(left, 0.2))

    def count(self, needle):
        with self.cv:
            return sum(1 for l in self.lines if needle in l)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait(5)
            raise Fail("%s did not stop on %s" % (self.argv[0], sig))
        for t in self.threads:
            t.join(5)
        return rc

    def cpu_ticks(self):
        with open("/proc/%d/stat" % self.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])


def run(argv, timeout=60, env=None, check_rc=None):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                       stdin=subprocess.DEVNULL)
    if check_rc is not None and r.returncode != check_rc:
        raise Fail("%s exited %d (wanted %d)\nstdout:\n%s\nstderr:\n%s"
                   % (" ".join(argv), r.returncode, check_rc, r.stdout, r.stderr))
    return r


class Server:
    """ward-server in tmp/server on a free port."""

    def __init__(self, tmp, init_args=(), port=None):
        self.dir = os.path.join(tmp, "server")
        self.port = port or free_port()
        self.url = "https://127.0.0.1:%d" % self.port
        run([SERVER, "--data-dir", self.dir, "init", "--listen", "127.0.0.1:%d" % self.port]
            + list(init_args), check_rc=0)
        self.ca = os.path.join(self.dir, "ca.pem")
        self.proc = None

    def start(self):
        self.proc = Proc([SERVER, "--data-dir", self.dir, "serve"])
        self.proc.wait_for("listening on")
        return self

    def stop(self):
        if self.proc:
            rc = self.proc.stop()
            self.proc = None
            return rc
        return 0

    def cli(self, *args, rc=0):
        r = run([SERVER, "--data-dir", self.dir] + list(args), check_rc=rc)
        return r

    def cli_json(self, *args):
        return json.loads(self.cli("--json", *args).stdout)

    def token(self, *args):
        return self.cli_json("token", "create", *args)["token"]

    def devices(self):
        return self.cli_json("devices", "list")

    def commands(self, device=None):
        return self.cli_json("commands", "list", *([device] if device else []))

    def sql(self, query, params=()):
        """Direct database access, for simulating tampering or reading the audit trail."""
        import sqlite3
        db = sqlite3.connect(os.path.join(self.dir, "server.db"), timeout=10)
        try:
            cur = db.execute(query, params)
            rows = cur.fetchall()
            db.commit()
            return rows
        finally:
            db.close()


def token_fields(token):
    check(token.startswith("ward1."), "token prefix: " + token)
    b = token[6:]
    return json.loads(base64.urlsafe_b64decode(b + "=" * (-len(b) % 4)))


def make_token(fields):
    raw = json.dumps(fields, separators=(",", ":")).encode()
    return "ward1." + base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Agent:
    """The ward agent with all its state in tmp/<name>."""

    def __init__(self, tmp, name="agent", config=None):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.state = os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "agent.json")
        with open(self.config, "w") as f:
            json.dump(config or {}, f)
        self.proc = None

    def argv(self, *args):
        return [WARD, "--config", self.config, "--state-dir", self.state] + list(args)

    def cli(self, *args, rc=0, env=None, timeout=60):
        return run(self.argv(*args), check_rc=rc, env=env, timeout=timeout)

    def status(self):
        return json.loads(self.cli("status", "--json").stdout)

    def enroll(self, token, rc=0, extra=()):
        return self.cli("enroll", "--token", token, *extra, rc=rc)

    def start(self, env=None):
        self.proc = Proc(self.argv("run"), env=env)
        self.proc.wait_for("running")
        return self.proc

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            rc = self.proc.stop(sig)
            self.proc = None
            return rc
        return 0


def openssl(*args):
    run([OPENSSL] + list(args), check_rc=0)


def make_device_identity(tmp, name="dev"):
    """A P-256 key and CSR made with the openssl CLI (for talking to the server directly)."""
    key = os.path.join(tmp, name + ".key")
    csr = os.path.join(tmp, name + ".csr")
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    openssl("req", "-new", "-key", key, "-subj", "/CN=ignored", "-out", csr)
    return key, csr


def https(server, method, path, body=None, cert=None, key=None, ca=None, timeout=20,
          headers=None):
    """One HTTPS request with Python's ssl module; returns (status, parsed-or-raw body)."""
    ctx = ssl.create_default_context(cafile=ca or server.ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=timeout)
    try:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, raw
    finally:
        conn.close()


def enroll_direct(server, tmp, token, name="dev"):
    """Enrolls a device with the openssl-made key (not the agent); returns (device_id, cert,
    key) paths."""
    key, csr = make_device_identity(tmp, name)
    secret = token_fields(token)["secret"]
    status, body = https(server, "POST", "/api/v1/enroll",
                         {"token": secret, "csr": open(csr).read(), "hostname": name})
    check(status == 201, "enroll: %s %s" % (status, body))
    cert = os.path.join(tmp, name + ".pem")
    with open(cert, "w") as f:
        f.write(body["certificate"])
    return body["device_id"], cert, key


def main(cases):
    """Runs one case named on the command line inside a fresh temporary directory."""
    name = sys.argv[1]
    keep = os.environ.get("WT_KEEP")
    tmp = tempfile.mkdtemp(prefix="ward-it-")
    ok = False
    try:
        cases[name](tmp)
        ok = True
    finally:
        if keep or not ok:
            print("scratch dir kept: " + tmp, file=sys.stderr)
        else:
            subprocess.run(["rm", "-rf", tmp])
    print("ok", name)
