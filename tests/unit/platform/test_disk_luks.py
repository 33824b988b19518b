#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""plat_disk_crypto_erase and plat_disk_overwrite on real LUKS containers, judged by
cryptsetup itself. Every container is a 32 MiB scratch file this test makes (LUKS2 and
LUKS1, two key slots each via luksAddKey, cheap pbkdf2 so formatting is fast); one LUKS2
container also sits behind a loop device when losetup works, detached again in a finally.
No real disk of the machine is ever named. After the erase (through disk_probe, a small C
driver of platform/disk.h):
  - `cryptsetup luksDump` fails or shows no key slot,
  - `cryptsetup open --test-passphrase --key-file` fails for both keys,
  - every 4 KiB block of the header area changed, and the data area did not.
Then plat_disk_overwrite zeroes a file (and the loop device), is refused (WARD_EBUSY) while
someone holds the loop device exclusively, and refuses a relative path.

Skips (exit 0, with the reason) without cryptsetup (package cryptsetup-bin) or when
luksFormat does not work here; the loop-device part is skipped alone when losetup fails.

Usage: test_disk_luks.py DISK_PROBE"""
import json
import os
import subprocess
import sys
import tempfile

PROBE = os.path.abspath(sys.argv[1])
SIZE = 32 * 1024 * 1024
BLOCK = 4096
LOSETUP = "/usr/sbin/losetup" if os.path.exists("/usr/sbin/losetup") else "/sbin/losetup"


def skip(why):
    print("SKIP:", why)
    sys.exit(0)


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)


def find_cryptsetup():
    for p in ("/sbin/cryptsetup", "/usr/sbin/cryptsetup"):
        if os.access(p, os.X_OK):
            return p
    return None


CS = find_cryptsetup()
ENV = dict(os.environ, LANG="C", LC_ALL="C")


def cs(*args, check_rc=True):
    p = subprocess.run([CS] + list(args), capture_output=True, text=True, env=ENV)
    if check_rc and p.returncode != 0:
        print("FAIL: cryptsetup", " ".join(args), "exit", p.returncode, p.stderr.strip())
        sys.exit(1)
    return p


def probe(*args):
    p = subprocess.run([PROBE] + list(args), capture_output=True, text=True)
    try:
        res = json.loads(p.stdout)
    except ValueError:
        print("FAIL: disk_probe", args, "printed", repr(p.stdout), "stderr", p.stderr)
        sys.exit(1)
    check((p.returncode == 0) == (res["rc"] == "WARD_OK"), ("exit status vs rc", p.returncode,
                                                           res))
    return res


def make_luks(path, kind, key, key2):
    if not path.startswith("/dev/"):
        with open(path, "wb") as f:
            f.truncate(SIZE)
    fmt = cs("luksFormat", "--type", kind, "--batch-mode", "--pbkdf", "pbkdf2",
             "--pbkdf-force-iterations", "1000", "--key-file", key, path, check_rc=False)
    if fmt.returncode != 0:
        skip("cryptsetup luksFormat does not work here: " + fmt.stderr.strip())
    cs("luksAddKey", "--batch-mode", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000",
       "--key-file", key, path, key2)


def active_slots(dump):
    """Key slots in luksDump text (LUKS1 'Key Slot N: ENABLED', LUKS2 '  N: type' entries
    under 'Keyslots:'); computed independently of the C parser."""
    n, in_slots = 0, False
    for line in dump.splitlines():
        if line.startswith("Key Slot ") and line.rstrip().endswith("ENABLED"):
            n += 1
        if line and not line[0].isspace():
            in_slots = line.rstrip() == "Keyslots:"
            continue
        if in_slots and line.startswith("  ") and line.strip().split(":")[0].isdigit():
            n += 1
    return n


def read_range(path, off, n):
    with open(path, "rb") as f:
        f.seek(off)
        return f.read(n)


def erase_and_judge(dev, backing, kind, key, key2, header_size):
    """dev: what the probe and cryptsetup are pointed at; backing: the file behind it."""
    dump = cs("luksDump", dev).stdout
    check(active_slots(dump) == 2, (kind, "two slots before", dump))
    for k in (key, key2):
        cs("open", "--test-passphrase", "--key-file", k, dev)
    info = probe("inspect", dev)
    check(info["rc"] == "WARD_OK", info)
    check(info["version"] == (2 if kind == "luks2" else 1), info)
    check(info["keyslots"] == 2, info)
    check(info["header_bytes"] == header_size, (info, header_size))
    check(info["uuid"] == cs("luksUUID", dev).stdout.strip(), info)

    before_hdr = read_range(backing, 0, header_size)
    before_data = read_range(backing, header_size, SIZE - header_size)

    res = probe("erase", dev)
    check(res["rc"] == "WARD_OK", (kind, dev, res))
    check(res["slots_before"] == 2, res)
    check(res["header_bytes_overwritten"] == header_size, res)
    check(res["verified"] == 1, res)
    check(res["cryptsetup_erased"] == 1, res)

    d = cs("luksDump", dev, check_rc=False)
    check(d.returncode != 0 or active_slots(d.stdout) == 0,
          (kind, "luksDump still shows key slots", d.stdout))
    for k in (key, key2):
        t = cs("open", "--test-passphrase", "--key-file", k, dev, check_rc=False)
        check(t.returncode != 0, (kind, "test-passphrase still works with", k))
    check(cs("isLuks", dev, check_rc=False).returncode != 0, (kind, "still LUKS"))

    after_hdr = read_range(backing, 0, header_size)
    check(len(after_hdr) == header_size, "header area length")
    same = [i for i in range(0, header_size, BLOCK)
            if after_hdr[i:i + BLOCK] == before_hdr[i:i + BLOCK]]
    check(not same, (kind, "header blocks unchanged at", same[:8]))
    check(after_hdr[:6] != b"LUKS\xba\xbe", "primary magic survived")
    check(b"SKUL\xba\xbe" not in after_hdr and b"LUKS\xba\xbe" not in after_hdr,
          "a LUKS header copy survived")
    check(read_range(backing, header_size, SIZE - header_size) == before_data,
          (kind, "the data area was touched"))
    check(os.path.getsize(backing) == SIZE, "size changed")
    print("ok:", kind, dev, res)


def check_zero(path):
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            check(b.count(0) == len(b), (path, "not all zeros"))


def file_tests(tmp, key, key2):
    for kind, header_size in (("luks2", 16 * 1024 * 1024), ("luks1", 4096 * 512)):
        img = os.path.join(tmp, kind + ".img")
        make_luks(img, kind, key, key2)
        erase_and_judge(img, img, kind, key, key2, header_size)

    # not LUKS: refused, nothing written
    plain = os.path.join(tmp, "plain.img")
    with open(plain, "wb") as f:
        f.write(os.urandom(SIZE // 8))
    before = read_range(plain, 0, SIZE)
    res = probe("erase", plain)
    check(res["rc"] == "WARD_EPARSE", res)
    check(read_range(plain, 0, SIZE) == before, "non-LUKS file changed")

    # overwrite: all zeros, progress at the end, relative path refused
    res = probe("overwrite", plain)
    check(res["rc"] == "WARD_OK", res)
    check(res["progress_calls"] >= 1 and res["done"] == res["total"] == SIZE // 8, res)
    check_zero(plain)
    check(os.path.getsize(plain) == SIZE // 8, "overwrite changed the size")
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        res = probe("overwrite", "plain.img")
    finally:
        os.chdir(cwd)
    check(res["rc"] == "WARD_EINVAL" and "absolute" in res["why"], res)
    print("ok: overwrite", plain)


def loop_tests(tmp, key, key2):
    if os.geteuid() != 0:
        print("SKIP (loop part): not root")
        return
    img = os.path.join(tmp, "loop.img")
    with open(img, "wb") as f:
        f.truncate(SIZE)
    p = subprocess.run([LOSETUP, "-f", "--show", img], capture_output=True, text=True)
    if p.returncode != 0 or not p.stdout.strip().startswith("/dev/loop"):
        print("SKIP (loop part): losetup failed:", p.stderr.strip())
        return
    dev = p.stdout.strip()
    try:
        back = subprocess.run([LOSETUP, "-n", "-O", "BACK-FILE", dev], capture_output=True,
                              text=True).stdout.strip()
        check(os.path.realpath(back) == os.path.realpath(img), (dev, "is backed by", back))
        make_luks(dev, "luks2", key, key2)
        erase_and_judge(dev, img, "luks2", key, key2, 16 * 1024 * 1024)

        # someone holds the device exclusively (as a mount or a mapping would): refused
        fd = os.open(dev, os.O_RDONLY | os.O_EXCL)
        try:
            res = probe("overwrite", dev)
        finally:
            os.close(fd)
        check(res["rc"] == "WARD_EBUSY", res)
        check(res["progress_calls"] == 0, res)
        res = probe("overwrite", dev)
        check(res["rc"] == "WARD_OK" and res["total"] == SIZE, res)
        check_zero(img)
        print("ok: overwrite", dev)
    finally:
        d = subprocess.run([LOSETUP, "-d", dev], capture_output=True, text=True)
        if d.returncode != 0:
            print("WARNING: losetup -d", dev, "failed:", d.stderr.strip())


def main():
    if not CS:
        skip("cryptsetup not installed (/sbin/cryptsetup, /usr/sbin/cryptsetup; package "
             "cryptsetup-bin, scripts/install-deps)")
    with tempfile.TemporaryDirectory(prefix="ward-disk-") as tmp:
        key = os.path.join(tmp, "key")
        key2 = os.path.join(tmp, "key2")
        for k in (key, key2):
            with open(k, "wb") as f:
                f.write(os.urandom(32))
        file_tests(tmp, key, key2)
        loop_tests(tmp, key, key2)
    print("PASS")


if __name__ == "__main__":
    main()
