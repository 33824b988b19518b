# SPDX-License-Identifier: Apache-2.0
"""What the Python drivers under tests/unit/win share: running a Windows program under
wine (WINEPREFIX from scripts/test-windows), failing with a message, waiting for a
condition, Z: paths for host files, and the security descriptors wine stores for files
(read from the Unix side, not through wine)."""
import os
import struct
import subprocess
import sys
import time


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)


def wine(*args, rc=None, timeout=120):
    """wine ARGS; with rc, anything else fails the test with the program's output."""
    p = subprocess.run(["wine"] + list(args), capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if rc is not None:
        check(p.returncode == rc, "wine %s: exit %d (want %d)\n%s%s"
              % (" ".join(args), p.returncode, rc, p.stdout, p.stderr))
    return p


def wait_until(fn, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.5)
    check(False, "timed out waiting for " + what)


def winpath(p):
    return "Z:" + p.replace("/", "\\")


def sid_str(b):
    """A binary SID -> "S-1-5-32-544"."""
    n = b[1]
    auth = int.from_bytes(b[2:8], "big")
    subs = [int.from_bytes(b[8 + 4 * i:12 + 4 * i], "little") for i in range(n)]
    return "S-%d-%d" % (b[0], auth) + "".join("-%d" % s for s in subs)


def wine_sd(unix_path):
    """The security descriptor wineserver keeps for a file or directory, read from the Unix
    side: its xattr "user.wine.sd" is two bytes (revision 1, 0) and wineserver's own flat
    struct security_descriptor (control, owner_len, group_len, sacl_len, dacl_len as
    32-bit little-endian words, then owner SID, group SID, SACL, DACL). None when there is
    no xattr: wine then makes one up from the Unix mode for every query (SYSTEM, the user
    and, with world bits, Everyone). Returns {"control", "owner", "dacl": [(type, flags,
    mask, sid)]}, the DACL None when it has none."""
    try:
        raw = os.getxattr(unix_path, "user.wine.sd")
    except OSError:
        return None
    check(len(raw) >= 22 and raw[0] == 1, "user.wine.sd of %s: %r" % (unix_path, raw[:8]))
    control, owner_len, group_len, sacl_len, dacl_len = struct.unpack_from("<5I", raw, 2)
    off = 22
    owner = sid_str(raw[off:off + owner_len]) if owner_len else None
    off += owner_len + group_len + sacl_len
    dacl = None
    if dacl_len:
        _rev, _sbz, _size, count, _sbz2 = struct.unpack_from("<BBHHH", raw, off)
        dacl, p = [], off + 8
        for _ in range(count):
            typ, flags, size, mask = struct.unpack_from("<BBHI", raw, p)
            dacl.append((typ, flags, mask, sid_str(raw[p + 8:p + size])))
            p += size
    return {"control": control, "owner": owner, "dacl": dacl}


SYSTEM, ADMINISTRATORS, EVERYONE = "S-1-5-18", "S-1-5-32-544", "S-1-1-0"
SE_DACL_PROTECTED, OI_CI, INHERITED_ACE, FILE_ALL_ACCESS = 0x1000, 0x03, 0x10, 0x1F01FF


def check_private_sd(unix_path, ace_flags=OI_CI, what="state directory"):
    """unix_path's stored DACL is exactly SYSTEM and Administrators with full control
    (ace_flags OI|CI on the directory, protected and owned by Administrators; INHERITED_ACE
    on something created inside it). None, checking nothing, when wine stored no
    descriptor (a wineserver without xattr support)."""
    sd = wine_sd(unix_path)
    if sd is None:
        # Debian 12's wineserver 8.0 is built without xattr support (it imports no
        # fsetxattr): a descriptor set on a file lives only in the server's object, and
        # every later query is made up from the Unix mode. Nothing to check then.
        print("note: no user.wine.sd on %s (%s): this wineserver does not persist file "
              "security descriptors; not checked" % (unix_path, what))
        return None
    want = sorted([(0, ace_flags, FILE_ALL_ACCESS, SYSTEM),
                   (0, ace_flags, FILE_ALL_ACCESS, ADMINISTRATORS)], key=lambda a: a[3])
    check(sorted(sd["dacl"] or [], key=lambda a: a[3]) == want,
          "%s %s: DACL %r, want %r" % (what, unix_path, sd["dacl"], want))
    if ace_flags == OI_CI:
        check(sd["control"] & SE_DACL_PROTECTED, "%s: DACL not protected (control 0x%x)"
              % (what, sd["control"]))
        check(sd["owner"] == ADMINISTRATORS, "%s: owner %s" % (what, sd["owner"]))
    return sd
