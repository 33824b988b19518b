#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Builds the inventory fixture trees under tests/data/inventory/ (run once, results are
committed). Three roots for `ward inventory --root`:

  vm-debian12/   captured from the Debian 12 development VM (no DMI, no TPM, no battery,
                 virtio disk): real /proc, /etc and dpkg files, sysfs copied as small trees
                 with their symlinks (a 120-package cut of the real dpkg status)
  laptop-luks/   a ThinkPad-like laptop: DMI, BAT0 with energy_* values, TPM 2.0, NVMe
                 disk with a LUKS2 root (dm-crypt sysfs + mountinfo), wifi, a utmp session,
                 flatpak and snap apps, systemd-resolved stub resolver
  desktop-dmi/   a desktop: DMI with placeholder strings, SATA disk with a VPD serial,
                 TPM 1.2 (caps), LVM on LUKS for /home only, ARM-free x86 2-socket cpuinfo

and single files under files/ for the parser tests (including hostile ones). Usage:
make_fixtures.py [--capture] (with --capture the vm tree is refreshed from this machine).
"""
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def w(root, rel, data, mode="w"):
    p = os.path.join(HERE, root, rel.lstrip("/"))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    if isinstance(data, bytes):
        mode = "wb"
    with open(p, mode) as f:
        f.write(data)


def ln(root, rel, target):
    p = os.path.join(HERE, root, rel.lstrip("/"))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    if os.path.lexists(p):
        os.unlink(p)
    os.symlink(target, p)


def utmp_record(typ, pid, line, user, host, sec):
    rec = struct.pack("<hxxi32s4s32s256shhiii16s20s", typ, pid, line.encode(), b"",
                      user.encode(), host.encode(), 0, 0, 0, sec, 0, b"", b"")
    assert len(rec) == 384
    return rec


def sysfs_attrs(root, base, attrs):
    for k, v in attrs.items():
        w(root, base + "/" + k, v + "\n")


def capture_vm():
    root = "vm-debian12"
    shutil.rmtree(os.path.join(HERE, root), ignore_errors=True)
    for f in ["/proc/cpuinfo", "/proc/meminfo", "/proc/self/mountinfo", "/proc/stat",
              "/proc/net/route", "/proc/net/ipv6_route", "/proc/net/if_inet6",
              "/proc/net/fib_trie", "/proc/sys/kernel/osrelease", "/etc/os-release",
              "/etc/passwd", "/etc/group", "/etc/login.defs", "/etc/resolv.conf",
              "/etc/hostname", "/etc/machine-id", "/etc/timezone"]:
        with open(f, "rb") as fh:
            data = fh.read()
        if f.endswith("mountinfo"):  # leave out the sandbox's own bind mounts
            data = b"".join(l for l in data.splitlines(True) if b"sandboxing" not in l)
        w(root, f, data)
    ln(root, "/etc/localtime", "/usr/share/zoneinfo/Etc/UTC")
    w(root, "/usr/share/zoneinfo/Etc/UTC", b"TZif2")
    with open("/var/lib/dpkg/status") as fh:
        stanzas = fh.read().split("\n\n")
    w(root, "/var/lib/dpkg/status", "\n\n".join(stanzas[:120]) + "\n")
    # sysfs: copy the few attributes the collectors read, with the real symlinks
    for dev in sorted(os.listdir("/sys/block")):
        base = "/sys/block/" + dev
        target = os.readlink(base)
        real = "/sys/" + target.replace("../", "")
        ln(root, base, target)
        for a in ["size", "removable", "ro", "dev", "serial", "queue/rotational",
                  "device/model", "device/vendor"]:
            p = os.path.join(base, a)
            if os.path.isfile(p):
                try:
                    with open(p) as fh:
                        w(root, real + "/" + a, fh.read())
                except OSError:
                    pass
    for dev in sorted(os.listdir("/sys/class/net")):
        base = "/sys/class/net/" + dev
        target = os.readlink(base)
        real = "/sys/" + target.replace("../", "")
        ln(root, base, target)
        for a in ["address", "mtu", "operstate", "type", "uevent", "speed"]:
            try:
                with open(os.path.join(base, a)) as fh:
                    w(root, real + "/" + a, fh.read())
            except OSError:
                pass
        drv = os.path.join(base, "device/driver")
        if os.path.islink(drv):
            ln(root, real + "/device", "../../../" + os.readlink(base + "/device").split("/")[-1])
            w(root, "/sys/bus/virtio/drivers/virtio_net/.keep", "")
    for cpu in sorted(os.listdir("/sys/devices/system/cpu")):
        if cpu.startswith("cpu") and cpu[3:].isdigit():
            for a in ["topology/physical_package_id", "topology/core_id"]:
                with open(f"/sys/devices/system/cpu/{cpu}/{a}") as fh:
                    w(root, f"/sys/devices/system/cpu/{cpu}/{a}", fh.read())
    os.makedirs(os.path.join(HERE, root, "sys/class/power_supply"), exist_ok=True)
    w(root, "/sys/class/power_supply/.keep", "")


def laptop():
    root = "laptop-luks"
    shutil.rmtree(os.path.join(HERE, root), ignore_errors=True)
    sysfs_attrs(root, "/sys/class/dmi/id", {
        "sys_vendor": "LENOVO", "product_name": "21HMCTO1WW", "product_version":
        "ThinkPad T14s Gen 4", "product_serial": "PF4ABCDE", "product_uuid":
        "4c4c4544-0042-3510-8052-b7c04f4e3732", "product_family": "ThinkPad T14s Gen 4",
        "product_sku": "LENOVO_MT_21HM_BU_Think_FM_ThinkPad T14s Gen 4",
        "board_vendor": "LENOVO", "board_name": "21HMCTO1WW", "board_serial": "L1HF3AB001X",
        "bios_vendor": "LENOVO", "bios_version": "R2EET41W (1.22 )", "bios_date": "09/12/2024",
        "chassis_type": "10"})
    w(root, "/proc/cpuinfo", "".join(
        f"processor\t: {i}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 186\n"
        f"model name\t: 13th Gen Intel(R) Core(TM) i7-1355U\nstepping\t: 3\n"
        f"cpu MHz\t\t: 400.000\nphysical id\t: 0\ncore id\t\t: {i // 2 if i < 4 else i}\n"
        f"flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep vmx smx est tm2 ssse3\n\n"
        for i in range(12)))
    for i in range(12):
        sysfs_attrs(root, f"/sys/devices/system/cpu/cpu{i}", {
            "topology/physical_package_id": "0",
            "topology/core_id": str(i // 2 if i < 4 else i),
            "cpufreq/cpuinfo_max_freq": "5000000" if i < 4 else "3700000"})
    w(root, "/proc/meminfo", "MemTotal:       32463532 kB\nMemFree:         1203532 kB\n"
      "MemAvailable:   20461320 kB\nSwapTotal:       8388604 kB\nSwapFree:        8388604 kB\n")
    # NVMe disk, partitions, LUKS2 root on nvme0n1p3 as dm-0
    ln(root, "/sys/block/nvme0n1", "../devices/pci0000:00/0000:00:06.0/0000:04:00.0/nvme/nvme0/nvme0n1")
    ln(root, "/sys/block/dm-0", "../devices/virtual/block/dm-0")
    nv = "/sys/devices/pci0000:00/0000:00:06.0/0000:04:00.0/nvme/nvme0/nvme0n1"
    sysfs_attrs(root, nv, {"size": "1000215216", "removable": "0", "ro": "0", "dev": "259:0",
                           "queue/rotational": "0", "device/model": "SAMSUNG MZVL21T0HCLR-00BL7",
                           "device/serial": "S64PNX0T123456"})
    for n, (start, size) in enumerate([(2048, 532480), (534528, 2097152), (2631680, 997582848)], 1):
        sysfs_attrs(root, f"{nv}/nvme0n1p{n}", {"partition": str(n), "start": str(start),
                                                "size": str(size), "ro": "0",
                                                "dev": f"259:{n}"})
    sysfs_attrs(root, "/sys/devices/virtual/block/dm-0", {
        "size": "997550080", "removable": "0", "ro": "0", "dev": "254:0",
        "queue/rotational": "0", "dm/name": "luks-7a3b1f5e",
        "dm/uuid": "CRYPT-LUKS2-7a3b1f5e2c0d4e8f9a1b2c3d4e5f6a7b-luks-7a3b1f5e"})
    ln(root, "/sys/devices/virtual/block/dm-0/slaves/nvme0n1p3", f"../../../../..{nv}/nvme0n1p3")
    w(root, "/proc/self/mountinfo",
      "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
      "23 1 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n"
      "26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/mapper/luks-7a3b1f5e rw,errors=remount-ro\n"
      "28 26 259:2 / /boot rw,relatime shared:58 - ext4 /dev/nvme0n1p2 rw\n"
      "29 28 259:1 / /boot/efi rw,relatime shared:60 - vfat /dev/nvme0n1p1 rw,fmask=0077,dmask=0077\n"
      "30 26 0:25 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=3246356k\n"
      "31 26 0:40 / /media/anna/USB\\040STICK rw,nosuid,nodev,relatime shared:300 - vfat /dev/sda1 rw\n")
    # battery, AC, a wireless mouse (scope Device)
    sysfs_attrs(root, "/sys/class/power_supply/BAT0", {"uevent": "\n".join([
        "POWER_SUPPLY_NAME=BAT0", "POWER_SUPPLY_TYPE=Battery", "POWER_SUPPLY_STATUS=Discharging",
        "POWER_SUPPLY_PRESENT=1", "POWER_SUPPLY_TECHNOLOGY=Li-poly", "POWER_SUPPLY_CYCLE_COUNT=187",
        "POWER_SUPPLY_VOLTAGE_MIN_DESIGN=15440000", "POWER_SUPPLY_VOLTAGE_NOW=16221000",
        "POWER_SUPPLY_POWER_NOW=6542000", "POWER_SUPPLY_ENERGY_FULL_DESIGN=57000000",
        "POWER_SUPPLY_ENERGY_FULL=51870000", "POWER_SUPPLY_ENERGY_NOW=40123000",
        "POWER_SUPPLY_CAPACITY=77", "POWER_SUPPLY_CAPACITY_LEVEL=Normal",
        "POWER_SUPPLY_MODEL_NAME=5B10W51867", "POWER_SUPPLY_MANUFACTURER=SMP",
        "POWER_SUPPLY_SERIAL_NUMBER= 1234"])})
    sysfs_attrs(root, "/sys/class/power_supply/AC", {"uevent": "POWER_SUPPLY_NAME=AC\n"
                "POWER_SUPPLY_TYPE=Mains\nPOWER_SUPPLY_ONLINE=0"})
    sysfs_attrs(root, "/sys/class/power_supply/hidpp_battery_0", {"uevent":
                "POWER_SUPPLY_NAME=hidpp_battery_0\nPOWER_SUPPLY_TYPE=Battery\n"
                "POWER_SUPPLY_SCOPE=Device\nPOWER_SUPPLY_CAPACITY=90"})
    # TPM 2.0
    sysfs_attrs(root, "/sys/class/tpm/tpm0", {"tpm_version_major": "2",
                "device/hid": "MSFT0101", "device/description": "TPM 2.0 Device"})
    w(root, "/sys/class/tpmrm/tpm0rm/dev", "253:65536\n")
    # network: wifi, ethernet over USB-C dock (down), loopback, docker bridge
    for name, target, attrs, extra in [
        ("lo", "../../devices/virtual/net/lo", {"address": "00:00:00:00:00:00", "mtu": "65536",
                                               "operstate": "unknown", "type": "772"}, []),
        ("wlp0s20f3", "../../devices/pci0000:00/0000:00:14.3/net/wlp0s20f3",
         {"address": "a4:c3:f0:11:22:33", "mtu": "1500", "operstate": "up", "type": "1",
          "uevent": "DEVTYPE=wlan\nINTERFACE=wlp0s20f3\nIFINDEX=3"}, ["wireless/.keep"]),
        ("enx00e04c680001", "../../devices/pci0000:00/0000:00:0d.0/usb2/2-1/2-1:1.0/net/enx00e04c680001",
         {"address": "00:e0:4c:68:00:01", "mtu": "1500", "operstate": "down", "type": "1",
          "uevent": "INTERFACE=enx00e04c680001\nIFINDEX=4"}, []),
        ("docker0", "../../devices/virtual/net/docker0",
         {"address": "02:42:8c:aa:bb:cc", "mtu": "1500", "operstate": "down", "type": "1",
          "uevent": "DEVTYPE=bridge\nINTERFACE=docker0\nIFINDEX=5"}, ["bridge/.keep"]),
    ]:
        ln(root, "/sys/class/net/" + name, target)
        real = "/sys/" + target.replace("../", "")
        sysfs_attrs(root, real, attrs)
        for e in extra:
            w(root, real + "/" + e, "")
    w(root, "/sys/devices/pci0000:00/0000:00:14.3/net/wlp0s20f3/speed", "")
    w(root, "/proc/net/route",
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "wlp0s20f3\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
      "wlp0s20f3\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0\n"
      "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n")
    w(root, "/proc/net/fib_trie",
      "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n"
      "     +-- 127.0.0.0/8 2 0 2\n        +-- 127.0.0.0/31 1 0 0\n           |-- 127.0.0.0\n"
      "              /8 host LOCAL\n           |-- 127.0.0.1\n              /32 host LOCAL\n"
      "     +-- 172.17.0.0/16 2 0 2\n           |-- 172.17.0.1\n              /32 host LOCAL\n"
      "     +-- 192.168.1.0/24 2 0 2\n           |-- 192.168.1.0\n              /24 link UNICAST\n"
      "           |-- 192.168.1.57\n              /32 host LOCAL\n"
      "Local:\n  +-- 0.0.0.0/0 3 0 5\n           |-- 192.168.1.57\n              /32 host LOCAL\n")
    w(root, "/proc/net/if_inet6",
      "00000000000000000000000000000001 01 80 10 80       lo\n"
      "fe80000000000000a6c3f0fffe112233 03 40 20 80 wlp0s20f3\n"
      "2a0104f8c0c1234500000000000000a1 03 40 00 00 wlp0s20f3\n")
    w(root, "/proc/net/ipv6_route",
      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000258 00000001 00000000 00000003 wlp0s20f3\n"
      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n")
    w(root, "/etc/resolv.conf", "# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\n"
      "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch fritz.box\n")
    w(root, "/run/systemd/resolve/resolv.conf", "nameserver 192.168.1.1\nnameserver 2a01:4f8:c0c1::1\nsearch fritz.box\n")
    w(root, "/etc/os-release", 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\n'
      'VERSION="24.04.1 LTS (Noble Numbat)"\nID=ubuntu\nID_LIKE=debian\n')
    w(root, "/etc/hostname", "anna-t14s\n")
    w(root, "/etc/machine-id", "0f1e2d3c4b5a69788796a5b4c3d2e1f0\n")
    w(root, "/proc/sys/kernel/osrelease", "6.8.0-45-generic\n")
    w(root, "/proc/stat", "cpu  1 2 3 4\nbtime 1732780800\n")
    ln(root, "/etc/localtime", "/usr/share/zoneinfo/Europe/Berlin")
    w(root, "/usr/share/zoneinfo/Europe/Berlin", b"TZif2")
    w(root, "/run/reboot-required", "*** System restart required ***\n")
    w(root, "/etc/login.defs", "# comment\nUID_MIN\t\t\t 1000\nUID_MAX\t\t\t60000\n")
    w(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
      "anna:x:1000:1000:Anna Schmidt,,,:/home/anna:/bin/bash\n"
      "svc-backup:x:1001:1001::/var/lib/backup:/usr/sbin/nologin\n"
      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    w(root, "/etc/group", "root:x:0:\nsudo:x:27:anna\nanna:x:1000:\n")
    w(root, "/run/utmp", utmp_record(2, 0, "~", "reboot", "6.8.0-45-generic", 1732780810) +
      utmp_record(7, 2211, "tty2", "anna", "tty2", 1732780900) +
      utmp_record(7, 3456, "pts/0", "anna", "192.168.1.20", 1732781000) +
      utmp_record(8, 3999, "pts/1", "", "", 1732781100))
    w(root, "/var/lib/dpkg/status",
      "Package: openssl\nStatus: install ok installed\nPriority: optional\nSection: utils\n"
      "Installed-Size: 2130\nMaintainer: Ubuntu Developers\nArchitecture: amd64\nMulti-Arch: foreign\n"
      "Version: 3.0.13-0ubuntu3.4\nDepends: libc6 (>= 2.34), libssl3t64 (>= 3.0.13-0ubuntu3.4)\n"
      "Description: Secure Sockets Layer toolkit - cryptographic utility\n This package is part of OpenSSL.\n\n"
      "Package: libssl3t64\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\n"
      "Version: 3.0.13-0ubuntu3.4\nInstalled-Size: 6544\n\n")
    # flatpak app: current -> x86_64/stable, active -> commit dir with metadata and deploy
    fp = "/var/lib/flatpak/app/org.mozilla.firefox"
    ln(root, fp + "/current", "x86_64/stable")
    ln(root, fp + "/x86_64/stable/active", "3f2e1d0c")
    w(root, fp + "/x86_64/stable/3f2e1d0c/metadata",
      "[Application]\nname=org.mozilla.firefox\nruntime=org.freedesktop.Platform/x86_64/24.08\n")
    deploy = (b"flathub\x00" + b"3f2e1d0c" * 8 + b"\x00" + b"\x00" * 7 +
              b"appdata-name\x00\x00\x00\x00Firefox\x00s" + b"\x00" * 3 +
              b"appdata-version\x00131.0.3\x00s" + b"\x00" * 4 +
              b"appdata-license\x00MPL-2.0\x00s\x00")
    w(root, fp + "/x86_64/stable/3f2e1d0c/deploy", deploy)
    # snap: /snap/<name>/current -> revision, with the mounted meta/snap.yaml
    ln(root, "/snap/core22/current", "1663")
    w(root, "/snap/core22/1663/meta/snap.yaml", "name: core22\nversion: '20241001'\nsummary: Runtime\n"
      "architectures:\n  - amd64\ntype: base\n")
    ln(root, "/snap/firefox/current", "5091")
    w(root, "/snap/firefox/5091/meta/snap.yaml", "name: firefox\nversion: 131.0.3-1\n"
      "architectures: [amd64]\nconfinement: strict\n")
    w(root, "/snap/README", "This directory presents installed snap packages.\n")
    w(root, "/var/lib/snapd/state.json", "{}\n")


def desktop():
    root = "desktop-dmi"
    shutil.rmtree(os.path.join(HERE, root), ignore_errors=True)
    sysfs_attrs(root, "/sys/class/dmi/id", {
        "sys_vendor": "System manufacturer", "product_name": "System Product Name",
        "product_version": "System Version", "product_serial": "System Serial Number",
        "board_vendor": "ASUSTeK COMPUTER INC.", "board_name": "PRIME B450M-A",
        "bios_vendor": "American Megatrends Inc.", "bios_version": "3211",
        "bios_date": "08/10/2021", "chassis_type": "3"})
    w(root, "/proc/cpuinfo", "".join(
        f"processor\t: {i}\nvendor_id\t: AuthenticAMD\ncpu family\t: 23\nmodel\t\t: 49\n"
        f"model name\t: AMD EPYC 7302 16-Core Processor\nstepping\t: 0\ncpu MHz\t\t: 1500.000\n"
        f"physical id\t: {i // 4}\ncore id\t\t: {i % 4}\nflags\t\t: fpu vme svm\n\n" for i in range(8)))
    w(root, "/proc/meminfo", "MemTotal:       16314680 kB\nMemAvailable:   12000000 kB\n")
    ln(root, "/sys/block/sda", "../devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda")
    sd = "/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda"
    sysfs_attrs(root, sd, {"size": "3907029168", "removable": "0", "ro": "0", "dev": "8:0",
                           "queue/rotational": "1", "device/model": "WDC WD20EZRZ-00Z",
                           "device/vendor": "ATA     "})
    w(root, sd + "/device/vpd_pg80", b"\x00\x80\x00\x14     WD-WCC4M1234567")
    sysfs_attrs(root, sd + "/sda1", {"partition": "1", "start": "2048", "size": "3907026944",
                                     "dev": "8:1"})
    ln(root, "/sys/block/dm-0", "../devices/virtual/block/dm-0")
    ln(root, "/sys/block/dm-1", "../devices/virtual/block/dm-1")
    ln(root, "/sys/block/loop0", "../devices/virtual/block/loop0")
    sysfs_attrs(root, "/sys/devices/virtual/block/loop0", {"size": "0", "dev": "7:0"})
    sysfs_attrs(root, "/sys/devices/virtual/block/dm-0", {
        "size": "3907022848", "dev": "253:0", "dm/name": "home_crypt",
        "dm/uuid": "CRYPT-PLAIN-home_crypt"})
    ln(root, "/sys/devices/virtual/block/dm-0/slaves/sda1", "../../../../pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1")
    sysfs_attrs(root, "/sys/devices/virtual/block/dm-1", {
        "size": "3900000000", "dev": "253:1", "dm/name": "vg0-home",
        "dm/uuid": "LVM-abcdefabcdefabcdefabcdefabcdefab"})
    ln(root, "/sys/devices/virtual/block/dm-1/slaves/dm-0", "../../dm-0")
    w(root, "/proc/self/mountinfo",
      "24 1 8:2 / / rw,relatime - btrfs /dev/sdb2 rw\n"
      "25 24 0:45 / /home rw,relatime - btrfs /dev/mapper/vg0-home rw\n"
      "26 24 0:46 / /srv/nfs rw,relatime - nfs4 fileserver:/export rw\n"
      "27 24 0:47 / /srv/nfs rw,relatime - nfs4 fileserver:/export2 rw\n")
    sysfs_attrs(root, "/sys/class/tpm/tpm0", {"device/caps": "Manufacturer: 0x49465800\n"
                "TCG version: 1.2\nFirmware version: 6.40\n"})
    w(root, "/etc/os-release", 'NAME="Fedora Linux"\nVERSION_ID=40\nID=fedora\nPRETTY_NAME="Fedora Linux 40 (Workstation Edition)"\n')
    w(root, "/etc/passwd", "root:x:0:0:Super User:/root:/bin/bash\nbob:x:1000:1000:Bob:/home/bob:/bin/zsh\n")
    w(root, "/etc/group", "wheel:x:10:bob\n")
    w(root, "/etc/timezone", "America/New_York\n")


def files():
    d = "files"
    shutil.rmtree(os.path.join(HERE, d), ignore_errors=True)
    w(d, "cpuinfo-arm64", "".join(
        f"processor\t: {i}\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\n"
        f"CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\n"
        f"CPU revision\t: 1\n\n" for i in range(4)))
    w(d, "dpkg-states", "Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n"
      "Installed-Size: 10\n\nPackage: b\nStatus: deinstall ok config-files\nArchitecture: amd64\n"
      "Version: 2\n\nPackage: c\nStatus: purge ok not-installed\nArchitecture: amd64\n\n"
      "Package: d\nStatus: install ok unpacked\nArchitecture: all\nVersion: 3\n\n"
      "Package: e\nStatus: hold ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 4\n"
      "Source: e-src (4-1)\n\nPackage: e\nStatus: install ok installed\nArchitecture: i386\n"
      "Multi-Arch: same\nVersion: 4\n\n")
    # hostile: truncated mid-stanza, a stanza with junk bytes and a huge line, missing fields
    w(d, "dpkg-hostile", b"Package: good\nStatus: install ok installed\nArchitecture: amd64\n"
      b"Version: 1.0\n\nPackage: \xff\xfe\x00junk\nStatus: install ok installed\nArchitecture: amd64\n\n"
      b"Package: huge\nStatus: install ok installed\nArchitecture: amd64\nDescription: " +
      b"x" * 100000 + b"\n\nPackage: nostatus\nArchitecture: amd64\n\n"
      b"Status: install ok installed\nArchitecture: amd64\n\n\x00\x01\x02\x03binary junk\x7f\n\n"
      b"Package: badver\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\x01\n\n"
      b"Package: trunc\nStatus: install ok inst")
    w(d, "mountinfo-hostile", "1 2 3\n25 1 8:1 / /mnt/a\\040b rw - ext4 /dev/sda1 rw\n"
      "26 1 x:y / /bad rw - ext4 /dev/sdb1 rw\n27 1 8:2 / relative rw - ext4 /dev/sdb2 rw\n"
      "28 1 8:3 / /no-separator rw shared:1 ext4 /dev/sdb3 rw\n" + "z" * 70000 + "\n")
    w(d, "utmp-truncated", utmp_record(7, 10, "pts/3", "eve", "10.0.0.9", 1700000000) + b"\x07\x00")
    w(d, "passwd-hostile", "root:x:0:0:root:/root:/bin/bash\nbroken line\n+nis::::::\n"
      "x:x:notanumber:0::/:/bin/sh\nok:x:1005:1005::/home/ok:\n")


if __name__ == "__main__":
    if "--capture" in sys.argv:
        capture_vm()
    laptop()
    desktop()
    files()
