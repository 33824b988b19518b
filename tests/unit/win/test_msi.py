#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The MSI (scripts/package with --msi) installed silently by wine's msiexec, the way an
administrator pushes it:

    msiexec /i ward-<v>-x64.msi /qn ENROLL_TOKEN=... SERVER_URL=https://127.0.0.1:PORT

against a real ward-server (the Linux build, on loopback): ward.exe lands in
C:\\Program Files\\Ward, the service `ward` is registered and RUNNING, enrolls with the
token (the server lists the device), deletes the token the MSI left in HKLM\\SOFTWARE\\Ward
and quotes its own program path (wine's InstallServices writes it unquoted, with a space);
C:\\ProgramData\\Ward, which the service creates, has the SYSTEM+Administrators ACL as
wineserver stored it (winlib.check_private_sd);
`msiexec /x` stops and removes the service and the file. Skips without wine, the MSI, or
ward-server (WARD_SERVER_BIN, else build/server/ward-server of this checkout).
Usage: test_msi.py"""
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from winlib import INHERITED_ACE, check, check_private_sd, wait_until, wine  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    server = os.environ.get("WARD_SERVER_BIN") or os.path.join(TOP, "build/server/ward-server")
    msis = sorted(glob.glob(os.path.join(TOP, "dist/ward-*-x64.msi")), key=os.path.getmtime)
    prefix = os.environ.get("WINEPREFIX")
    if not prefix or not shutil.which("wine"):
        print("SKIP: needs wine and the WINEPREFIX scripts/test-windows sets up")
        return
    if not msis:
        print("SKIP: no dist/ward-*-x64.msi (scripts/package --msi builds it)")
        return
    if not os.access(server, os.X_OK):
        print("SKIP: no ward-server at %s (the native build)" % server)
        return
    msi = msis[-1]
    tmp = tempfile.mkdtemp(prefix="ward-msi-")
    data, port = os.path.join(tmp, "server"), free_port()
    subprocess.run([server, "--data-dir", data, "init", "--listen", "127.0.0.1:%d" % port],
                   check=True, capture_output=True)
    srv = subprocess.Popen([server, "--data-dir", data, "serve"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    pf = os.path.join(prefix, "drive_c/Program Files/Ward/ward.exe")
    wine("sc", "stop", "ward")
    wine("sc", "delete", "ward")  # a leftover of an aborted run
    # uninstall keeps the identity in C:\ProgramData\Ward (as removing the deb keeps
    # /var/lib/ward): a fresh machine has none
    state = os.path.join(prefix, "drive_c/ProgramData/Ward")
    shutil.rmtree(state, ignore_errors=True)
    try:
        tok = json.loads(subprocess.run([server, "--data-dir", data, "--json", "token", "create"],
                                        check=True, capture_output=True, text=True).stdout)["token"]
        url = "https://127.0.0.1:%d" % port
        wine("msiexec", "/i", msi, "/qn", "ENROLL_TOKEN=" + tok, "SERVER_URL=" + url, rc=0,
             timeout=300)
        check(os.path.isfile(pf), "ward.exe not in Program Files\\Ward")
        q = wine("sc", "query", "ward", rc=0).stdout
        check("RUNNING" in q, q)

        def devices():
            out = subprocess.run([server, "--data-dir", data, "--json", "devices", "list"],
                                 capture_output=True, text=True).stdout
            return json.loads(out) if out.strip() else []
        devs = wait_until(devices, 120, "the MSI-installed service to enroll")
        check(len(devs) == 1 and "windows" in devs[0].get("os", "").lower(), devs)
        # the service made C:\ProgramData\Ward SYSTEM+Administrators only (wine's xattr)
        check_private_sd(state)
        check_private_sd(os.path.join(state, "state.db"), INHERITED_ACE, "state.db")
        key = r"HKLM\SOFTWARE\Ward"
        reg = wait_until(lambda: (lambda r: r if "enroll_token" not in r.replace(
            "enroll_token_file", "") else None)(wine("reg", "query", key).stdout), 30,
            "the installer's token deleted from " + key)
        check(url in reg and "server_url" in reg, "server_url not in the registry:\n" + reg)
        img = wine("reg", "query", r"HKLM\System\CurrentControlSet\Services\ward", "/v",
                   "ImagePath", rc=0).stdout
        check('"C:\\Program Files\\Ward\\ward.exe" run --service' in img,
              "the service path is not quoted:\n" + img)
        wine("msiexec", "/x", msi, "/qn", rc=0, timeout=300)
        check(wine("sc", "query", "ward").returncode != 0, "the service is still registered")
        check(not os.path.exists(pf), "ward.exe is still in Program Files")
        check(os.path.isfile(os.path.join(state, "state.db")), "uninstall took the state")
    finally:
        srv.terminate()
        srv.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)
    print("ok: silent MSI install enrolled with ENROLL_TOKEN, token removed, path quoted; "
          "uninstalled")


if __name__ == "__main__":
    main()
