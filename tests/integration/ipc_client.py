#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A local IPC client written apart from Ward's (docs/ipc.md framing: a 4-byte big-endian
length, then JSON), run by the tests as other users through setpriv, so it uses nothing
but the standard library and Debian's /usr/bin/python3.

    ipc_client.py SOCKET REQUEST...     each REQUEST is JSON, sent on one connection; every
                                        answer is printed as one line of JSON
    ipc_client.py SOCKET --listen N T   subscribe (REQUEST on stdin is not used): sends
                                        {"verb": "subscribe"}, prints the answer and up to
                                        N frames that arrive within T seconds
Exit status 3 when the connection cannot be made (the error on stderr), 4 when the daemon
closed it before answering.
"""
import json
import socket
import struct
import sys


def recv_exact(s, n):
    d = b""
    while len(d) < n:
        chunk = s.recv(n - len(d))
        if not chunk:
            return None
        d += chunk
    return d


def recv_frame(s):
    h = recv_exact(s, 4)
    if h is None:
        return None
    n = struct.unpack(">I", h)[0]
    return recv_exact(s, n)


def send_frame(s, b):
    s.sendall(struct.pack(">I", len(b)) + b)


def main():
    path = sys.argv[1]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    try:
        s.connect(path)
    except OSError as e:
        print("connect: %s" % e, file=sys.stderr)
        sys.exit(3)
    if sys.argv[2] == "--listen":
        n, t = int(sys.argv[3]), float(sys.argv[4])
        send_frame(s, b'{"verb":"subscribe"}')
        print(recv_frame(s).decode(), flush=True)
        s.settimeout(t)
        try:
            for _ in range(n):
                f = recv_frame(s)
                if f is None:
                    break
                print(f.decode(), flush=True)
        except socket.timeout:
            pass
        return
    for req in sys.argv[2:]:
        send_frame(s, req.encode())
        f = recv_frame(s)
        if f is None:
            print("closed", file=sys.stderr)
            sys.exit(4)
        print(f.decode(), flush=True)


if __name__ == "__main__":
    main()
