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


LIVE = []  # every Proc started in this run


class Proc:
    """A child process whose stdout and stderr lines are collected by reader threads."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.lines = []
        self.times = []  # time.monotonic() when each line arrived
        self.cv = threading.Condition()
        LIVE.append(self)  # main() kills what a case left running
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
                self.times.append(time.monotonic())
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

    def matching(self, needle, start=0):
        """[(arrival time, line)] of the lines containing needle, from line index start."""
        with self.cv:
            return [(t, l) for t, l in zip(self.times[start:], self.lines[start:])
                    if needle in l]

    def mark(self):
        """The current line count, as a start index for wait_for/matching."""
        with self.cv:
            return len(self.lines)

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


def run(argv, timeout=60, env=None, check_rc=None, cwd=None):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                       stdin=subprocess.DEVNULL, cwd=cwd)
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

    def start(self, verbose=False):
        self.proc = Proc([SERVER, "--data-dir", self.dir] + (["-v"] if verbose else [])
                         + ["serve"])
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

    def sql(self, query, params=()):
        """Direct access to the agent's state database (reading the journal, fault
        injection with triggers)."""
        import sqlite3
        db = sqlite3.connect(os.path.join(self.state, "state.db"), timeout=10)
        try:
            rows = db.execute(query, params).fetchall()
            db.commit()
            return rows
        finally:
            db.close()

    def meta(self, key):
        rows = self.sql("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    IDENTITY_KEYS = ("device_id", "server_url", "device_cert", "ca_cert", "command_key",
                     "device_key", "seq_high", "lifecycle", "enrolled_at")

    def identity(self):
        """Everything that makes up the device's identity and command state, with the bytes
        of its key file: equal before and after a fault means nothing was changed."""
        snap = {k: self.meta(k) for k in self.IDENTITY_KEYS}
        key = snap["device_key"]
        if key:
            with open(os.path.join(self.state, key), "rb") as f:
                snap["key_bytes"] = f.read()
        snap["journal"] = self.sql("SELECT command_id, seq, state, status FROM commands"
                                   " ORDER BY seq")
        return snap

    def cert_serial(self):
        return cert_serial(self.meta("device_cert"))


def cert_serial(pem):
    """The serial of a PEM certificate as openssl prints it (upper-case hex)."""
    r = subprocess.run([OPENSSL, "x509", "-noout", "-serial"], input=pem, capture_output=True,
                       text=True, check=True)
    return r.stdout.strip().split("=", 1)[1].upper()


def wait_until(fn, timeout=10, interval=0.1, what="a condition"):
    """Polls fn until it returns a true value (returned) or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Fail("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def sign_envelope(server, payload, key_name="online"):
    """An envelope signed with the server's own command key (as ward-server signs), for
    payloads the server would never issue (already expired ones)."""
    raw = json.dumps(payload, separators=(",", ":")).encode()
    with tempfile.NamedTemporaryFile() as f:  # Ed25519 signs in one shot: not from a pipe
        f.write(raw)
        f.flush()
        r = subprocess.run([OPENSSL, "pkeyutl", "-sign", "-inkey",
                            os.path.join(server.dir, "command.key"), "-rawin", "-in", f.name],
                           capture_output=True, check=True)
    return json.dumps({"payload": base64.b64encode(raw).decode(),
                       "signature": base64.b64encode(r.stdout).decode(), "key": key_name})


def command(server, cid):
    """The service's record of one command (as `commands list` prints it)."""
    for c in server.commands():
        if c["command_id"] == cid:
            return c
    raise Fail("command %s not listed" % cid)


def final(server, cid, timeout=20):
    """The command's record once its status is final."""
    return wait_until(lambda: (lambda c: c if c["status"] not in
                               ("queued", "delivered", "accepted", "running") else None)(
        command(server, cid)), timeout, what="the final result of " + cid)


def take_seq(s, dev):
    """The device's next sequence number, reserved as ward-server does when it issues."""
    return s.sql("UPDATE devices SET next_seq = next_seq + 1 WHERE device_id = ?"
                 " RETURNING next_seq - 1", (dev,))[0][0]


def envelope_of(s, cid):
    return json.loads(s.sql("SELECT envelope FROM commands WHERE command_id = ?", (cid,))[0][0])


def set_envelope(s, cid, env):
    """Replaces a queued command's envelope, as a compromised service could."""
    s.sql("UPDATE commands SET envelope = ? WHERE command_id = ?",
          (env if isinstance(env, str) else json.dumps(env), cid))


def _unlisten(s):
    """Closes a listening socket another thread blocks on in accept(): shutdown wakes it,
    a bare close would leave the port bound until accept returns."""
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


def _listen(port=None):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port or 0))
    s.listen(64)
    return s


class TcpProxy:
    """A plain TCP relay to 127.0.0.1:target (TLS passes through untouched, so pinning and
    mutual TLS are end to end). Counts connections and bytes in each direction: a way to see
    whether the agent contacts the service at all."""

    def __init__(self, target_port):
        self.target = target_port
        self.sock = _listen()
        self.port = self.sock.getsockname()[1]
        self.url = "https://127.0.0.1:%d" % self.port
        self.lock = threading.Lock()
        self.connections = 0
        self.up = 0  # bytes from the agent
        self.down = 0
        self.open = []
        self.closed = False
        self.trickle = 0  # > 0: the service's bytes reach the agent at this many per second
        self.cut_after = 0  # > 0: the next connection to carry this many bytes down is cut
        threading.Thread(target=self._accept, daemon=True).start()

    def counters(self):
        with self.lock:
            return self.connections, self.up, self.down

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                c.close()
                continue
            u.settimeout(None)
            with self.lock:
                self.connections += 1
                self.open += [c, u]
            threading.Thread(target=self._pump, args=(c, u, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, "down"), daemon=True).start()

    def _pump(self, src, dst, direction):
        carried = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                carried += len(data)
                if direction == "down" and self.cut_after and carried > self.cut_after:
                    self.cut_after = 0
                    break  # both sides are shut down below: the transfer dies mid-body
                with self.lock:
                    if direction == "up":
                        self.up += len(data)
                    else:
                        self.down += len(data)
                while direction == "down" and self.trickle and data:
                    dst.sendall(data[:1])
                    data = data[1:]
                    time.sleep(1.0 / self.trickle)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        _unlisten(self.sock)
        with self.lock:
            for s in self.open:
                s.close()


class SilentListener:
    """Accepts TCP connections on a port and never reads or writes: a service that hangs."""

    def __init__(self, port):
        self.sock = _listen(port)
        self.accepted = []  # monotonic times
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            self.accepted.append(time.monotonic())

    def close(self):
        _unlisten(self.sock)
        for c in self.conns:
            c.close()


class FakeService:
    """A TLS server on a port, speaking just enough HTTP/1.1 to give bad answers. With the
    real server.pem/server.key and client certificates required from the real CA it is
    indistinguishable from ward-server at the TLS level. `mode` picks the answer to POSTs;
    GET /api/v1/wait is held open. Records every request it decrypted, and for streamed
    answers how many body bytes it got out before the client hung up."""

    MODES = ("html", "truncated", "empty", "huge", "chunked", "503")

    def __init__(self, port, cert, key, client_ca=None):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        if client_ca:
            self.ctx.verify_mode = ssl.CERT_REQUIRED
            self.ctx.load_verify_locations(client_ca)
        self.sock = _listen(port)
        self.port = self.sock.getsockname()[1]
        self.mode = "html"
        self.lock = threading.Lock()
        self.requests = []  # (monotonic time, method, path, mode, body bytes)
        self.streamed = []  # body bytes sent by huge/chunked answers before the peer quit
        self.handshakes = 0
        self.raw_conns = 0
        self.conns = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.raw_conns += 1
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _read_request(self, t, buf):
        while b"\r\n\r\n" not in buf:
            d = t.recv(65536)
            if not d:
                return None, buf
            buf += d
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, path = lines[0].split(" ")[:2]
        length = 0
        for l in lines[1:]:
            k, _, v = l.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v.strip())
        while len(buf) < length:
            d = t.recv(65536)
            if not d:
                return None, buf
            buf += d
        return (method, path, buf[:length]), buf[length:]

    def _serve(self, c):
        try:
            t = self.ctx.wrap_socket(c, server_side=True)
        except (OSError, ssl.SSLError):
            c.close()
            return
        with self.lock:
            self.handshakes += 1
            self.conns.append(t)  # the wrapper owns the descriptor now
            if self.closed:
                t.close()
                return
        buf = b""
        try:
            while True:
                req, buf = self._read_request(t, buf)
                if req is None:
                    break
                method, path, body = req
                mode = self.mode
                with self.lock:
                    self.requests.append((time.monotonic(), method, path, mode, body))
                if path.startswith("/api/v1/wait"):
                    t.recv(1)  # held until the client goes away
                    break
                if not self._answer(t, mode):
                    break
        except (OSError, ssl.SSLError, ValueError):
            pass
        try:
            t.close()
        except OSError:
            pass

    @staticmethod
    def _simple(t, status, ctype, body, extra=""):
        t.sendall(("HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n"
                   % (status, ctype, len(body), extra)).encode() + body)

    def _answer(self, t, mode):
        """Sends one answer; False when the connection is finished."""
        if mode == "html":
            self._simple(t, "200 OK", "text/html",
                         b"<html><body><h1>Welcome to the captive portal</h1></body></html>")
        elif mode == "truncated":
            self._simple(t, "200 OK", "application/json",
                         b'{"checkin_interval": 30, "server_time": "2026-11-28T10:00:00Z", '
                         b'"commands": [{"payload": "eyJjb21tYW5k')
        elif mode == "empty":
            self._simple(t, "200 OK", "application/json", b"")
        elif mode == "503":
            self._simple(t, "503 Service Unavailable", "application/json",
                         b'{"error": {"code": "unavailable", "message": "maintenance"}}',
                         "Retry-After: 7\r\n")
        elif mode in ("huge", "chunked"):
            chunk = b"x" * 65536
            sent = 0
            try:
                if mode == "huge":
                    t.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              b"Content-Length: %d\r\n\r\n" % (100 << 20))
                    while sent < (100 << 20):
                        t.sendall(chunk)
                        sent += len(chunk)
                else:
                    t.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n")
                    while True:
                        t.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                        sent += len(chunk)
            finally:
                with self.lock:
                    self.streamed.append(sent)
            return False
        return True

    def posts(self, path="/api/v1/checkin"):
        with self.lock:
            return [r for r in self.requests if r[2] == path]

    def close(self):
        """Stops listening and ends every connection (kept-alive ones too)."""
        _unlisten(self.sock)
        with self.lock:
            self.closed = True
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except (OSError, ValueError):
                    pass
                try:
                    c.close()
                except OSError:
                    pass


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
        # an agent or server a case forgot (or a failure skipped) must not outlive it
        for proc in LIVE:
            if getattr(proc, "p", None) and proc.p.poll() is None:
                print("killing %s left running by %s" % (proc.argv[0], name), file=sys.stderr)
                proc.p.kill()
                proc.p.wait(5)
        if keep or not ok:
            print("scratch dir kept: " + tmp, file=sys.stderr)
        else:
            subprocess.run(["rm", "-rf", tmp])
    print("ok", name)
