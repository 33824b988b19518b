#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Loopback HTTPS peer for the agent HTTP client tests (Debian python3: http.server + ssl).

Listens on 127.0.0.1, an ephemeral port, and prints the port on stdout's first line. It
exits when stdin reaches EOF, so a test that dies never leaves it behind. Behaviour is
chosen by path:

  /json            200 application/json {"ok": true}
  /status?code=N   status N with Retry-After: 7 and a JSON body
  /redirect        302 to /target (which counts, so the test can prove it was not fetched)
  /target          200 "target"
  /big?n=N         N bytes with Content-Length
  /bigchunked?n=N  N bytes, chunked (no length known in advance)
  /trickle         Content-Length 1000000, then one byte every 0.2 s, forever
  /closemid        Content-Length 1000, 100 bytes sent, connection closed
  /gzip            gzip-encoded body (Content-Encoding: gzip) of GZIP_TEXT
  /echo            "method=M enc=E raw=N x-test=V\\n" + the request body, gunzipped if E=gzip
  /slow?ms=N       answers after N ms (default 10000)
  /stats           JSON {"connections": n, "paths": {path: count}} (not counted itself)

--client-ca FILE requires a client certificate issued by that CA.
"""
import argparse
import gzip
import json
import os
import socket
import ssl
import sys
import threading
import time
import http.server
from urllib.parse import parse_qs, urlsplit

GZIP_TEXT = b"ward gzip response line\n" * 2000


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, ctx):
        super().__init__(addr, handler)
        self.ctx = ctx
        self.lock = threading.Lock()
        self.connections = 0
        self.paths = {}

    def finish_request(self, request, client_address):
        # The TLS handshake happens here, in the connection's own thread, so a client that
        # fails it never blocks the accept loop.
        tls = self.ctx.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        try:
            tls.do_handshake()
        except (ssl.SSLError, OSError) as e:
            print("peer: handshake failed: %s" % e, file=sys.stderr)
            # The alert is on its way; read what the client already sent before closing so
            # the kernel sends FIN, not a reset that could overtake the alert.
            try:
                tls.shutdown(socket.SHUT_WR)
                tls.settimeout(2)
                while tls.recv(65536):
                    pass
            except OSError:
                pass
            tls.close()
            return
        with self.lock:
            self.connections += 1
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        print("peer: connection error: %s" % (sys.exc_info()[1],), file=sys.stderr)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if os.environ.get("PEER_VERBOSE"):
            sys.stderr.write("peer: " + (fmt % args) + "\n")

    def reply(self, code, body, ctype="text/plain", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def route(self):
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        path = url.path
        body = self.read_body()
        srv = self.server
        if path != "/stats":
            with srv.lock:
                srv.paths[path] = srv.paths.get(path, 0) + 1

        if path == "/json":
            self.reply(200, b'{"ok": true}', "application/json")
        elif path == "/status":
            code = int(q.get("code", ["503"])[0])
            self.reply(code, b'{"error": "busy"}', "application/json", [("Retry-After", "7")])
        elif path == "/redirect":
            self.reply(302, b"moved", headers=[("Location", "/target")])
        elif path == "/target":
            self.reply(200, b"target")
        elif path == "/big":
            n = int(q.get("n", ["1048576"])[0])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            self.send_bytes(n)
        elif path == "/bigchunked":
            n = int(q.get("n", ["1048576"])[0])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 16384
            try:
                while n > 0:
                    c = chunk[: min(n, len(chunk))]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                    n -= len(c)
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                self.close_connection = True
        elif path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.flush()
            try:
                for _ in range(600):
                    self.wfile.write(b".")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
            self.close_connection = True
        elif path == "/closemid":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"y" * 100)
            self.wfile.flush()
            self.close_connection = True
        elif path == "/gzip":
            data = gzip.compress(GZIP_TEXT)
            self.reply(200, data, "text/plain", [("Content-Encoding", "gzip")])
        elif path == "/echo":
            enc = self.headers.get("Content-Encoding") or "identity"
            raw = len(body)
            if enc == "gzip":
                body = gzip.decompress(body)
            head = "method=%s enc=%s raw=%d x-test=%s\n" % (
                self.command, enc, raw, self.headers.get("X-Test") or "")
            self.reply(200, head.encode() + body, "text/plain")
        elif path == "/slow":
            time.sleep(int(q.get("ms", ["10000"])[0]) / 1000.0)
            self.reply(200, b"slow")
        elif path == "/session":
            # Whether this TLS connection resumed an earlier session; then close it so the
            # client's next request needs a new connection (and may resume).
            reused = bool(getattr(self.connection, "session_reused", False))
            self.reply(200, json.dumps({"reused": reused}).encode(), "application/json",
                       [("Connection", "close")])
            self.close_connection = True
        elif path == "/stats":
            with srv.lock:
                data = json.dumps({"connections": srv.connections, "paths": srv.paths})
            self.reply(200, data.encode(), "application/json")
        else:
            self.reply(404, b"no such path")

    def send_bytes(self, n):
        chunk = b"x" * 16384
        try:
            while n > 0:
                c = chunk[: min(n, len(chunk))]
                self.wfile.write(c)
                n -= len(c)
        except OSError:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = route


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca")
    a = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    if a.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(a.client_ca)

    srv = Server(("127.0.0.1", 0), Handler, ctx)
    print(srv.server_address[1], flush=True)

    def watch_stdin():
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
