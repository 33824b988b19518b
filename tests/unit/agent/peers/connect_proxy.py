#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Loopback HTTP CONNECT proxy for the agent HTTP client tests.

Listens on 127.0.0.1, an ephemeral port, and prints the port on stdout's first line; exits
when stdin reaches EOF. Each CONNECT it receives is counted; each tunnel it opens is counted
separately, and both counts are rewritten to --count-file as "connects=N tunnels=M" so the
test can read them. With --user U --password P it requires "Proxy-Authorization: Basic"
with those credentials and answers 407 otherwise. Anything but CONNECT gets 405. With
--cert/--key it is an https:// proxy (TLS between the client and the proxy).
"""
import argparse
import base64
import os
import select
import socket
import socketserver
import ssl
import sys
import threading


class Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, args):
        super().__init__(addr, handler)
        self.args = args
        self.tls = None
        if args.cert:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(args.cert, args.key)
        self.lock = threading.Lock()
        self.connects = 0
        self.tunnels = 0
        self.save()

    def handle_error(self, request, client_address):
        print("proxy: connection error: %s" % (sys.exc_info()[1],), file=sys.stderr)

    def count(self, tunnel):
        with self.lock:
            if tunnel:
                self.tunnels += 1
            else:
                self.connects += 1
            self.save()

    def save(self):
        tmp = self.args.count_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("connects=%d tunnels=%d\n" % (self.connects, self.tunnels))
        os.replace(tmp, self.args.count_file)


class Handler(socketserver.StreamRequestHandler):
    def setup(self):
        ctx = self.server.tls
        if ctx is not None:
            self.request = ctx.wrap_socket(self.request, server_side=True)
        super().setup()

    def answer(self, line):
        self.wfile.write(line.encode() + b"\r\nContent-Length: 0\r\n\r\n")
        self.wfile.flush()

    def handle(self):
        req = self.rfile.readline(8192).decode("latin-1").strip()
        headers = {}
        while True:
            line = self.rfile.readline(8192).decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        parts = req.split()
        if len(parts) != 3 or parts[0] != "CONNECT":
            self.answer("HTTP/1.1 405 Method Not Allowed")
            return
        srv = self.server
        srv.count(False)
        a = srv.args
        if a.user is not None:
            want = "Basic " + base64.b64encode(
                ("%s:%s" % (a.user, a.password)).encode()).decode()
            if headers.get("proxy-authorization") != want:
                self.answer("HTTP/1.1 407 Proxy Authentication Required\r\n"
                            "Proxy-Authenticate: Basic realm=\"ward-test\"")
                return
        host, _, port = parts[1].rpartition(":")
        try:
            up = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        except OSError:
            self.answer("HTTP/1.1 502 Bad Gateway")
            return
        srv.count(True)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        self.relay(self.connection, up)

    @staticmethod
    def relay(a, b):
        a.setblocking(True)
        b.setblocking(True)
        socks = [a, b]
        try:
            while True:
                r, _, _ = select.select(socks, [], [], 60)
                if not r:
                    return
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    # TLS may hold decrypted bytes that select() cannot see.
                    while isinstance(s, ssl.SSLSocket) and s.pending():
                        data += s.recv(s.pending())
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            b.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count-file", required=True)
    ap.add_argument("--user")
    ap.add_argument("--password", default="")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()

    srv = Proxy(("127.0.0.1", 0), Handler, a)
    print(srv.server_address[1], flush=True)

    def watch_stdin():
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
