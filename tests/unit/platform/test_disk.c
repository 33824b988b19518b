/* SPDX-License-Identifier: Apache-2.0 */
/*
 * platform/disk.h without touching a disk: the luksDump parser on dumps cryptsetup 2.6
 * wrote on this kind of machine (tests/data/platform/luks, LUKS1 and LUKS2, before and
 * after `cryptsetup erase`), the mountinfo and dm-uuid parsers on fixed text, the sysfs
 * walk of plat_disk_root_luks on fixture trees shaped like the kernel's (symlinked
 * /sys/block and /sys/dev/block entries), and plat_disk_overwrite / plat_disk_crypto_erase
 * on scratch files only. Real LUKS containers are test_disk_luks.py's business.
 */
#include "wtest.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/disk.h"
#include "platform/fs.h"
#include "ward/alloc.h"

static char *read_data(const char *name, size_t *len)
{
    char path[1024];
    char *data = NULL;
    snprintf(path, sizeof(path), "%s/platform/luks/%s", wt_data_dir(), name);
    WT_OK(plat_fs_read_file(NULL, path, PLAT_FS_NTS, 1 << 20, &data, len));
    return data;
}

static void parse_file(const char *name, struct plat_luks_info *info)
{
    size_t len = 0;
    char *data = read_data(name, &len);
    memset(info, 0x5a, sizeof(*info));
    WT_OK(plat_disk_parse_luks_dump(data, len, info));
    ward_free(data);
}

WT_TEST(disk_parse_luks2)
{
    struct plat_luks_info i;
    parse_file("luks2-2slots.dump", &i);
    WT_EQ_INT(i.version, 2);
    WT_EQ_INT(i.keyslots, 2);
    WT_EQ_INT(strlen(i.uuid), 36);
    /* 2 x 16 KiB metadata copies + the key-slot area: the data segment starts right after */
    WT_EQ_INT(i.header_bytes, 16777216);
    WT_EQ_INT(i.data_offset, 16777216);
}

WT_TEST(disk_parse_luks1)
{
    struct plat_luks_info i;
    parse_file("luks1-2slots.dump", &i);
    WT_EQ_INT(i.version, 1);
    WT_EQ_INT(i.keyslots, 2);
    WT_EQ_INT(strlen(i.uuid), 36);
    WT_EQ_INT(i.header_bytes, 4096 * 512);
    WT_EQ_INT(i.data_offset, 4096 * 512);
}

WT_TEST(disk_parse_erased)
{
    struct plat_luks_info i;
    parse_file("luks2-erased.dump", &i);
    WT_EQ_INT(i.version, 2);
    WT_EQ_INT(i.keyslots, 0); /* the digest survives cryptsetup erase, the slots do not */
    WT_EQ_INT(i.header_bytes, 16777216);
    parse_file("luks1-erased.dump", &i);
    WT_EQ_INT(i.version, 1);
    WT_EQ_INT(i.keyslots, 0);
    WT_EQ_INT(i.header_bytes, 2097152);
}

WT_TEST(disk_parse_luks_uuid_matches_dump)
{
    struct plat_luks_info i;
    size_t len = 0;
    char *data = read_data("luks2-2slots.dump", &len), want[80];
    const char *u = strstr(data, "UUID:");
    WT_ASSERT(u);
    u += 5;
    while (*u == ' ' || *u == '\t')
        u++;
    snprintf(want, sizeof(want), "%.36s", u);
    WT_OK(plat_disk_parse_luks_dump(data, len, &i));
    WT_EQ_STR(i.uuid, want);
    ward_free(data);
}

WT_TEST(disk_parse_luks_rejects)
{
    struct plat_luks_info i;
    size_t len = 0;
    char *data = read_data("luks2-2slots.dump", &len);
    const char *uuid_line = strstr(data, "UUID:");
    WT_ASSERT(uuid_line);
    WT_EQ_ERR(plat_disk_parse_luks_dump("", 0, &i), WARD_EPARSE);
    WT_EQ_ERR(plat_disk_parse_luks_dump("hello\nworld\n", 12, &i), WARD_EPARSE);
    /* cut before the UUID line */
    WT_EQ_ERR(plat_disk_parse_luks_dump(data, (size_t)(uuid_line - data), &i), WARD_EPARSE);
    /* not a LUKS dump even with the right keys */
    WT_EQ_ERR(plat_disk_parse_luks_dump("Version: 2\nUUID: x\n", 19, &i), WARD_EPARSE);
    ward_free(data);
    {
        static const char v3[] = "LUKS header information\nVersion:\t3\nUUID:\tabc\n";
        static const char big[] = "LUKS header information\nVersion:\t1\nUUID:\tabc\n"
                                  "Payload offset:\t99999999999999999999\n";
        static const char nopayload[] = "LUKS header information\nVersion:\t1\nUUID:\tabc\n";
        WT_EQ_ERR(plat_disk_parse_luks_dump(v3, sizeof(v3) - 1, &i), WARD_EPARSE);
        WT_EQ_ERR(plat_disk_parse_luks_dump(big, sizeof(big) - 1, &i), WARD_EPARSE);
        WT_EQ_ERR(plat_disk_parse_luks_dump(nopayload, sizeof(nopayload) - 1, &i), WARD_EPARSE);
    }
    WT_EQ_ERR(plat_disk_parse_luks_dump(NULL, 0, &i), WARD_EINVAL);
}

WT_TEST(disk_parse_luks2_reencrypt_slot_counts)
{
    /* a reencrypt slot and an unbound one hold key material too: both count */
    static const char d[] = "LUKS header information\n"
                            "Version:       \t2\n"
                            "Metadata area: \t16384 [bytes]\n"
                            "Keyslots area: \t1032192 [bytes]\n"
                            "UUID:          \t11111111-2222-3333-4444-555555555555\n"
                            "\n"
                            "Data segments:\n"
                            "  0: crypt\n"
                            "\toffset: 2097152 [bytes]\n"
                            "  1: crypt\n"
                            "\toffset: 9999 [bytes]\n"
                            "\n"
                            "Keyslots:\n"
                            "  0: luks2\n"
                            "\tKey:        512 bits\n"
                            "  2: reencrypt (unbound)\n"
                            "  7: luks2 (unbound)\n"
                            "Tokens:\n"
                            "  0: systemd-tpm2\n"
                            "Digests:\n"
                            "  0: pbkdf2\n";
    struct plat_luks_info i;
    WT_OK(plat_disk_parse_luks_dump(d, sizeof(d) - 1, &i));
    WT_EQ_INT(i.keyslots, 3);
    WT_EQ_INT(i.header_bytes, 2 * 16384 + 1032192);
    WT_EQ_INT(i.data_offset, 2097152);
    WT_EQ_STR(i.uuid, "11111111-2222-3333-4444-555555555555");
}

static const char mountinfo[] =
    "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro\n"
    "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
    "24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "30 22 7:3 / /mnt/my\\040disk rw,relatime - vfat /dev/loop3 rw\n"
    "31 22 253:2 / /srv rw,relatime shared:3 master:1 - xfs /dev/mapper/vg-srv rw\n"
    "40 22 0:45 / / rw,relatime - overlay overlay rw,lowerdir=/a\n";

WT_TEST(disk_parse_mountinfo)
{
    struct plat_disk_mount m;
    size_t n = sizeof(mountinfo) - 1;
    /* the later "/" entry is mounted over the first */
    WT_OK(plat_disk_parse_mountinfo(mountinfo, n, "/", &m));
    WT_EQ_STR(m.fstype, "overlay");
    WT_EQ_INT(m.major, 0);
    WT_EQ_INT(m.minor, 45);
    /* only the first line: the ext4 root */
    WT_OK(plat_disk_parse_mountinfo(mountinfo, (size_t)(strchr(mountinfo, '\n') - mountinfo), "/",
                                    &m));
    WT_EQ_STR(m.source, "/dev/vda1");
    WT_EQ_STR(m.fstype, "ext4");
    WT_EQ_INT(m.major, 254);
    WT_EQ_INT(m.minor, 1);
    WT_OK(plat_disk_parse_mountinfo(mountinfo, n, "/mnt/my disk", &m));
    WT_EQ_STR(m.source, "/dev/loop3");
    WT_EQ_INT(m.major, 7);
    /* optional fields (shared:, master:) before the separator */
    WT_OK(plat_disk_parse_mountinfo(mountinfo, n, "/srv", &m));
    WT_EQ_STR(m.source, "/dev/mapper/vg-srv");
    WT_EQ_STR(m.fstype, "xfs");
    WT_EQ_INT(m.major, 253);
    WT_EQ_INT(m.minor, 2);
    WT_EQ_ERR(plat_disk_parse_mountinfo(mountinfo, n, "/home", &m), WARD_ENOENT);
    WT_EQ_ERR(plat_disk_parse_mountinfo(mountinfo, n, "/mnt/my\\040disk", &m), WARD_ENOENT);
    WT_EQ_ERR(plat_disk_parse_mountinfo("", 0, "/", &m), WARD_ENOENT);
}

WT_TEST(disk_parse_mountinfo_malformed)
{
    struct plat_disk_mount m;
    static const char nosep[] = "22 1 254:1 / / rw,relatime ext4 /dev/vda1 rw\n";
    static const char badnum[] = "22 1 x:1 / / rw - ext4 /dev/vda1 rw\n";
    static const char nosource[] = "22 1 254:1 / / rw -\n";
    static const char nul[] = "22 1 254:1 / / rw - ext4 /dev/\\000x rw\n";
    WT_EQ_ERR(plat_disk_parse_mountinfo(nosep, sizeof(nosep) - 1, "/", &m), WARD_EPARSE);
    WT_EQ_ERR(plat_disk_parse_mountinfo(badnum, sizeof(badnum) - 1, "/", &m), WARD_EPARSE);
    WT_EQ_ERR(plat_disk_parse_mountinfo(nosource, sizeof(nosource) - 1, "/", &m), WARD_EPARSE);
    WT_EQ_ERR(plat_disk_parse_mountinfo(nul, sizeof(nul) - 1, "/", &m), WARD_EPARSE);
    WT_EQ_ERR(plat_disk_parse_mountinfo(NULL, 0, "/", &m), WARD_EINVAL);
}

WT_TEST(disk_parse_dm_uuid)
{
    char u[64];
    int v = 0;
    static const char l2[] = "CRYPT-LUKS2-C3F96B11f2bb41ff88f3ffe8aeac0313-root\n";
    static const char l1[] = "CRYPT-LUKS1-176f1aa21d964804bda65cbf6760b31e-sda2_crypt";
    WT_OK(plat_disk_parse_dm_uuid(l2, sizeof(l2) - 1, &v, u, sizeof(u)));
    WT_EQ_INT(v, 2);
    WT_EQ_STR(u, "c3f96b11-f2bb-41ff-88f3-ffe8aeac0313");
    WT_OK(plat_disk_parse_dm_uuid(l1, sizeof(l1) - 1, &v, u, sizeof(u)));
    WT_EQ_INT(v, 1);
    WT_EQ_STR(u, "176f1aa2-1d96-4804-bda6-5cbf6760b31e");
    WT_EQ_ERR(plat_disk_parse_dm_uuid(l2, sizeof(l2) - 1, &v, u, 20), WARD_ETOOBIG);
    WT_EQ_ERR(plat_disk_parse_dm_uuid("LVM-abcdef", 10, &v, u, sizeof(u)), WARD_ENOENT);
    WT_EQ_ERR(plat_disk_parse_dm_uuid("CRYPT-PLAIN-root", 16, &v, u, sizeof(u)), WARD_ENOENT);
    WT_EQ_ERR(plat_disk_parse_dm_uuid("CRYPT-SUBDEV-x", 14, &v, u, sizeof(u)), WARD_ENOENT);
    WT_EQ_ERR(plat_disk_parse_dm_uuid("CRYPT-LUKS3-x-y", 15, &v, u, sizeof(u)), WARD_ENOENT);
    WT_EQ_ERR(plat_disk_parse_dm_uuid("CRYPT-LUKS2--root", 17, &v, u, sizeof(u)), WARD_EPARSE);
    {
        static const char badhex[] = "CRYPT-LUKS2-g3f96b11f2bb41ff88f3ffe8aeac0313-root";
        WT_EQ_ERR(plat_disk_parse_dm_uuid(badhex, sizeof(badhex) - 1, &v, u, sizeof(u)),
                  WARD_EPARSE);
    }
}

/* ---- sysfs fixtures ------------------------------------------------------------------------ */

static void fx_link(const char *target, const char *rel)
{
    char dir[1024];
    const char *path = wt_path(rel);
    snprintf(dir, sizeof(dir), "%s", rel);
    char *slash = strrchr(dir, '/');
    WT_ASSERT(slash);
    *slash = '\0';
    WT_OK(plat_fs_mkdir_p(wt_tmpdir(), dir, PLAT_FS_NTS, 0755));
    if (symlink(target, path) != 0)
        wt_fail(__FILE__, __LINE__, "symlink %s -> %s: %s", path, target, strerror(errno));
}

static void fx_file(const char *rel, const char *text)
{
    wt_write_file(rel, text, strlen(text));
}

static void fx_mountinfo(const char *root_line)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "20 1 0:5 / /dev rw - devtmpfs udev rw\n%s\n"
             "23 22 0:21 / /proc rw,nosuid - proc proc rw\n",
             root_line);
    fx_file("proc/self/mountinfo", buf);
}

/* A block device as the kernel shows it: its directory under /sys/devices, the
 * /sys/block/NAME and /sys/dev/block/MAJ:MIN links to it, and for device-mapper ones
 * dm/uuid, dm/name and the slaves/ links. */
static void fx_block(const char *name, const char *majmin, const char *devdir, const char *uuid,
                     const char *dmname, const char *const *slaves)
{
    char rel[512], target[512];
    snprintf(rel, sizeof(rel), "sys/%s/dev", devdir);
    fx_file(rel, majmin);
    /* /sys/block lists whole disks and mappings, not partitions */
    snprintf(rel, sizeof(rel), "/block/%s", name);
    if (strlen(devdir) > strlen(rel) && strcmp(devdir + strlen(devdir) - strlen(rel), rel) == 0) {
        snprintf(rel, sizeof(rel), "sys/block/%s", name);
        snprintf(target, sizeof(target), "../%s", devdir);
        fx_link(target, rel);
    }
    snprintf(rel, sizeof(rel), "sys/dev/block/%s", majmin);
    snprintf(target, sizeof(target), "../../%s", devdir);
    fx_link(target, rel);
    if (uuid) {
        snprintf(rel, sizeof(rel), "sys/%s/dm/uuid", devdir);
        char line[256];
        snprintf(line, sizeof(line), "%s\n", uuid);
        fx_file(rel, line);
        snprintf(rel, sizeof(rel), "sys/%s/dm/name", devdir);
        snprintf(line, sizeof(line), "%s\n", dmname);
        fx_file(rel, line);
        snprintf(rel, sizeof(rel), "sys/%s/slaves", devdir);
        WT_OK(plat_fs_mkdir_p(wt_tmpdir(), rel, PLAT_FS_NTS, 0755));
    }
    for (size_t i = 0; slaves && slaves[i]; i++) {
        snprintf(rel, sizeof(rel), "sys/%s/slaves/%s", devdir, slaves[i]);
        snprintf(target, sizeof(target), "../../%s", slaves[i]); /* dangling is fine */
        fx_link(target, rel);
    }
}

static void fx_dm(const char *name, const char *majmin, const char *uuid, const char *dmname,
                  const char *const *slaves)
{
    char devdir[128];
    snprintf(devdir, sizeof(devdir), "devices/virtual/block/%s", name);
    fx_block(name, majmin, devdir, uuid, dmname, slaves);
}

static int root_luks(struct plat_luks_info *info, char *why, size_t whylen)
{
    memset(info, 0x5a, sizeof(*info));
    return plat_disk_root_luks(wt_tmpdir(), "/", info, why, whylen);
}

#define HEX1 "c3f96b11f2bb41ff88f3ffe8aeac0313"
#define HEX2 "176f1aa21d964804bda65cbf6760b31e"

WT_TEST(disk_root_plain_ext4)
{
    struct plat_luks_info info;
    char why[256];
    fx_mountinfo("22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw");
    fx_block("vda", "254:0", "devices/pci0000:00/0000:00:04.0/virtio1/block/vda", NULL, NULL, NULL);
    fx_block("vda1", "254:1", "devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda1", NULL, NULL,
             NULL);
    WT_EQ_ERR(root_luks(&info, why, sizeof(why)), WARD_ENOENT);
    WT_CONTAINS(why, "/dev/vda1");
    WT_CONTAINS(why, "not on device-mapper");
}

WT_TEST(disk_root_dm_crypt)
{
    static const char *const sl[] = {"nvme0n1p3", NULL};
    struct plat_luks_info info;
    char why[256];
    fx_mountinfo("22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/root rw");
    fx_dm("dm-0", "253:0", "CRYPT-LUKS2-" HEX1 "-root", "root", sl);
    WT_OK(root_luks(&info, why, sizeof(why)));
    WT_EQ_STR(info.device, "/dev/nvme0n1p3");
    WT_EQ_INT(info.version, 2);
    WT_EQ_STR(info.uuid, "c3f96b11-f2bb-41ff-88f3-ffe8aeac0313");
    WT_EQ_INT(info.keyslots, -1);
    WT_EQ_INT(info.header_bytes, 0);
    WT_EQ_STR(why, "");
}

WT_TEST(disk_root_lvm_on_luks)
{
    static const char *const crypt_sl[] = {"sda3", NULL};
    static const char *const lv_sl[] = {"dm-0", NULL};
    static const char *const swap_sl[] = {"dm-0", NULL};
    struct plat_luks_info info;
    char why[256];
    fx_mountinfo("22 1 253:1 / / rw,relatime - ext4 /dev/mapper/vg-root rw");
    fx_dm("dm-0", "253:0", "CRYPT-LUKS1-" HEX2 "-sda3_crypt", "sda3_crypt", crypt_sl);
    fx_dm("dm-1", "253:1", "LVM-Xo3sKq1lVvNnEw0ZsQ0xk3bJzjNnZf5GcB0FZyW9Ea8cJ0qHk7u6aXcGm3Y4rR8n",
          "vg-root", lv_sl);
    fx_dm("dm-2", "253:2", "LVM-Xo3sKq1lVvNnEw0ZsQ0xk3bJzjNnZf5GcB0FZyW9Ea8cJ0qHk7u6aXcGm3Y4rR8s",
          "vg-swap", swap_sl);
    WT_OK(root_luks(&info, why, sizeof(why)));
    WT_EQ_STR(info.device, "/dev/sda3");
    WT_EQ_INT(info.version, 1);
    WT_EQ_STR(info.uuid, "176f1aa2-1d96-4804-bda6-5cbf6760b31e");
}

WT_TEST(disk_root_luks_on_lvm)
{
    /* the other way round: the crypt mapping sits on an LV, which is the container */
    static const char *const lv_sl[] = {"vda2", NULL};
    static const char *const crypt_sl[] = {"dm-0", NULL};
    struct plat_luks_info info;
    char why[256];
    fx_mountinfo("22 1 253:1 / / rw - ext4 /dev/mapper/root_crypt rw");
    fx_dm("dm-0", "253:0", "LVM-abcdef", "vg-root", lv_sl);
    fx_dm("dm-1", "253:1", "CRYPT-LUKS2-" HEX1 "-root_crypt", "root_crypt", crypt_sl);
    WT_OK(root_luks(&info, why, sizeof(why)));
    WT_EQ_STR(info.device, "/dev/dm-0");
}

WT_TEST(disk_root_btrfs_by_mapper_name)
{
    /* btrfs reports an anonymous device number: the source name leads to the mapping */
    static const char *const sl[] = {"nvme0n1p2", NULL};
    static const char *const other_sl[] = {"nvme0n1p3", NULL};
    struct plat_luks_info info;
    char why[256];
    fx_mountinfo("22 1 0:31 /@ / rw,relatime - btrfs /dev/mapper/luks-" HEX1 " rw,subvol=/@");
    fx_dm("dm-0", "253:0", "CRYPT-LUKS2-" HEX2 "-home", "home", other_sl);
    fx_dm("dm-1", "253:1", "CRYPT-LUKS2-" HEX1 "-luks-" HEX1, "luks-" HEX1, sl);
    WT_OK(root_luks(&info, why, sizeof(why)));
    WT_EQ_STR(info.device, "/dev/nvme0n1p2");
    WT_EQ_STR(info.uuid, "c3f96b11-f2bb-41ff-88f3-ffe8aeac0313");
}

WT_TEST(disk_root_integrity_subdev)
{
    static const char *const int_sl[] = {"sdb1", NULL};
    static const char *const crypt_sl[] = {"dm-0", NULL};
    struct plat_luks_info info;
    char why[256];
    fx_mountinfo("22 1 253:1 / / rw - ext4 /dev/dm-1 rw");
    fx_dm("dm-0", "253:0", "CRYPT-SUBDEV-" HEX1 "-root_dif", "root_dif", int_sl);
    fx_dm("dm-1", "253:1", "CRYPT-LUKS2-" HEX1 "-root", "root", crypt_sl);
    WT_OK(root_luks(&info, why, sizeof(why)));
    WT_EQ_STR(info.device, "/dev/sdb1");
}

WT_TEST(disk_root_plain_dm_crypt_and_plain_lvm)
{
    static const char *const sl[] = {"sda2", NULL};
    struct plat_luks_info info;
    char why[256];
    fx_mountinfo("22 1 253:0 / / rw - ext4 /dev/mapper/root rw");
    fx_dm("dm-0", "253:0", "CRYPT-PLAIN-root", "root", sl);
    WT_EQ_ERR(root_luks(&info, why, sizeof(why)), WARD_ENOENT);
    WT_CONTAINS(why, "plain dm-crypt");

    WT_OK(plat_fs_remove_tree(wt_path("sys")));
    fx_dm("dm-0", "253:0", "LVM-abcdef", "vg-root", sl);
    WT_EQ_ERR(root_luks(&info, why, sizeof(why)), WARD_ENOENT);
    WT_CONTAINS(why, "no LUKS layer");
}

WT_TEST(disk_root_spans_two_containers)
{
    static const char *const a_sl[] = {"sda2", NULL};
    static const char *const b_sl[] = {"sdb1", NULL};
    static const char *const lv_sl[] = {"dm-0", "dm-1", NULL};
    struct plat_luks_info info;
    char why[256];
    fx_mountinfo("22 1 253:2 / / rw - ext4 /dev/mapper/vg-root rw");
    fx_dm("dm-0", "253:0", "CRYPT-LUKS2-" HEX1 "-a", "a", a_sl);
    fx_dm("dm-1", "253:1", "CRYPT-LUKS2-" HEX2 "-b", "b", b_sl);
    fx_dm("dm-2", "253:2", "LVM-abcdef", "vg-root", lv_sl);
    WT_EQ_ERR(root_luks(&info, why, sizeof(why)), WARD_ENOTSUP);
    WT_CONTAINS(why, "/dev/sda2, /dev/sdb1");
}

WT_TEST(disk_root_broken_fixtures)
{
    static const char *const two[] = {"sda2", "sdb2", NULL};
    struct plat_luks_info info;
    char why[256];
    /* no mountinfo at all */
    WT_EQ_ERR(root_luks(&info, why, sizeof(why)), WARD_EPARSE);
    WT_CONTAINS(why, "mountinfo");
    /* nothing at the mount point */
    fx_file("proc/self/mountinfo", "23 22 0:21 / /proc rw - proc proc rw\n");
    WT_EQ_ERR(root_luks(&info, why, sizeof(why)), WARD_ENOENT);
    WT_CONTAINS(why, "nothing is mounted at /");
    /* tmpfs root: no block device behind it */
    fx_mountinfo("22 1 0:33 / / rw - tmpfs tmpfs rw");
    WT_EQ_ERR(root_luks(&info, why, sizeof(why)), WARD_ENOENT);
    WT_CONTAINS(why, "tmpfs");
    /* a crypt mapping with two slaves is not something cryptsetup makes */
    fx_mountinfo("22 1 253:0 / / rw - ext4 /dev/mapper/root rw");
    fx_dm("dm-0", "253:0", "CRYPT-LUKS2-" HEX1 "-root", "root", two);
    WT_EQ_ERR(root_luks(&info, why, sizeof(why)), WARD_EPARSE);
    WT_CONTAINS(why, "2 slaves");
    WT_EQ_ERR(plat_disk_root_luks(wt_tmpdir(), NULL, &info, why, sizeof(why)), WARD_EINVAL);
}

WT_TEST(disk_root_luks_real_machine)
{
    /* this machine: whatever it is, the answer is an explained one, never a crash */
    struct plat_luks_info info;
    char why[256] = "x";
    int rc = plat_disk_root_luks(NULL, "/", &info, why, sizeof(why));
    WT_ASSERT(rc == 0 || rc == WARD_ENOENT || rc == WARD_ENOTSUP);
    if (rc != 0)
        WT_ASSERT(why[0] != '\0');
}

/* ---- overwrite and erase on scratch files ------------------------------------------------- */

struct progress_log {
    int calls;
    long long last_done, last_total;
};

static void on_progress(long long done, long long total, void *ctx)
{
    struct progress_log *p = ctx;
    WT_ASSERT(done > p->last_done || (done == 0 && total == 0));
    p->calls++;
    p->last_done = done;
    p->last_total = total;
}

static void fill_file(const char *path, size_t size)
{
    char *buf = ward_malloc(size);
    WT_ASSERT(buf);
    for (size_t i = 0; i < size; i++)
        buf[i] = (char)(0xa5 ^ (i * 7));
    WT_OK(plat_fs_write_file_mkdirs(path, buf, size));
    ward_free(buf);
}

WT_TEST(disk_overwrite_file)
{
    const size_t size = 3 * 1024 * 1024 + 123;
    const char *img = wt_path("img/disk.img");
    struct progress_log p = {0, -1, -1};
    char *data = NULL, why[256];
    size_t len = 0;
    fill_file(img, size);
    fx_file("root/proc/self/mounts", "/dev/vda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\n");
    WT_OK(plat_disk_overwrite(wt_path("root"), img, on_progress, &p, why, sizeof(why)));
    WT_EQ_INT(p.calls, 1); /* < 64 MiB: only the final report */
    WT_EQ_INT(p.last_done, (long long)size);
    WT_EQ_INT(p.last_total, (long long)size);
    WT_OK(plat_fs_read_file(NULL, img, PLAT_FS_NTS, size + 1, &data, &len));
    WT_EQ_INT(len, size);
    for (size_t i = 0; i < len; i++)
        if (data[i] != 0)
            wt_fail(__FILE__, __LINE__, "byte %zu is %d", i, data[i]);
    ward_free(data);
    /* NULL progress, empty file */
    fx_file("img/empty.img", "");
    WT_OK(plat_disk_overwrite(wt_path("root"), wt_path("img/empty.img"), NULL, NULL, why,
                              sizeof(why)));
}

WT_TEST(disk_overwrite_progress_steps)
{
    /* a sparse 200 MiB file: three reports at 64, 128 and 192 MiB, then the final one */
    const long long size = 200LL * 1024 * 1024;
    const char *img = wt_path("big.img");
    struct progress_log p = {0, -1, -1};
    char why[256];
    struct stat st;
    fx_file("big.img", "x");
    WT_ASSERT(truncate(img, size) == 0);
    fx_file("root/proc/self/mounts", "/dev/vda1 / ext4 rw 0 0\n");
    WT_OK(plat_disk_overwrite(wt_path("root"), img, on_progress, &p, why, sizeof(why)));
    WT_EQ_INT(p.calls, 4);
    WT_EQ_INT(p.last_done, size);
    WT_ASSERT(stat(img, &st) == 0);
    WT_EQ_INT(st.st_size, size);
}

WT_TEST(disk_overwrite_refusals)
{
    const char *img = wt_path("disk.img");
    struct progress_log p = {0, -1, -1};
    char why[512], line[1024], *data = NULL;
    size_t len = 0;
    fill_file(img, 4096);
    fx_file("root/proc/self/mounts", "/dev/vda1 / ext4 rw 0 0\n");

    WT_EQ_ERR(plat_disk_overwrite(wt_path("root"), "disk.img", on_progress, &p, why, sizeof(why)),
              WARD_EINVAL);
    WT_CONTAINS(why, "absolute");
    WT_EQ_ERR(plat_disk_overwrite(wt_path("root"), NULL, on_progress, &p, why, sizeof(why)),
              WARD_EINVAL);
    WT_EQ_ERR(plat_disk_overwrite(wt_path("root"), wt_tmpdir(), on_progress, &p, why, sizeof(why)),
              WARD_EINVAL);
    WT_EQ_ERR(plat_disk_overwrite(wt_path("root"), wt_path("missing.img"), on_progress, &p, why,
                                  sizeof(why)),
              WARD_ENOENT);
    /* listed as a mount source (by name, and by another path to the same file) */
    snprintf(line, sizeof(line), "/dev/vda1 / ext4 rw 0 0\n%s /mnt/img vfat rw 0 0\n", img);
    fx_file("root/proc/self/mounts", line);
    WT_EQ_ERR(plat_disk_overwrite(wt_path("root"), img, on_progress, &p, why, sizeof(why)),
              WARD_EBUSY);
    WT_CONTAINS(why, "/mnt/img");
    snprintf(line, sizeof(line), "%s/./disk.img /mnt/a\\040b vfat rw 0 0\n", wt_tmpdir());
    fx_file("root/proc/self/mounts", line);
    WT_EQ_ERR(plat_disk_overwrite(wt_path("root"), img, on_progress, &p, why, sizeof(why)),
              WARD_EBUSY);
    WT_CONTAINS(why, "/mnt/a b");
    /* no mount table to check against: refused, not assumed free */
    WT_EQ_ERR(plat_disk_overwrite(wt_path("nothing"), img, on_progress, &p, why, sizeof(why)),
              WARD_ENOENT);
    WT_CONTAINS(why, "mounts");
    WT_EQ_INT(p.calls, 0); /* a refusal never reports progress */
    WT_OK(plat_fs_read_file(NULL, img, PLAT_FS_NTS, 8192, &data, &len));
    WT_EQ_INT(len, 4096);
    WT_EQ_INT((unsigned char)data[0], 0xa5);
    ward_free(data);
}

static int have_cryptsetup(void)
{
    return access("/sbin/cryptsetup", X_OK) == 0 || access("/usr/sbin/cryptsetup", X_OK) == 0;
}

WT_TEST(disk_erase_refuses_non_luks)
{
    const char *img = wt_path("plain.img");
    struct plat_disk_erase_report rep;
    struct plat_luks_info info;
    char why[512], *data = NULL;
    size_t len = 0;
    fill_file(img, 1024 * 1024);
    WT_EQ_ERR(plat_disk_crypto_erase("plain.img", &rep, why, sizeof(why)), WARD_EINVAL);
    WT_EQ_ERR(plat_disk_luks_inspect("plain.img", &info, why, sizeof(why)), WARD_EINVAL);
    WT_EQ_ERR(plat_disk_crypto_erase(wt_path("missing"), &rep, why, sizeof(why)), WARD_ENOENT);
    if (!have_cryptsetup()) {
        WT_EQ_ERR(plat_disk_luks_inspect(img, &info, why, sizeof(why)), WARD_ENOENT);
        WT_CONTAINS(why, "cryptsetup");
        fprintf(stderr, "skip: no cryptsetup for the non-LUKS refusal (cryptsetup-bin)\n");
        return;
    }
    WT_EQ_ERR(plat_disk_luks_inspect(img, &info, why, sizeof(why)), WARD_EPARSE);
    WT_CONTAINS(why, "not a LUKS device");
    WT_EQ_ERR(plat_disk_crypto_erase(img, &rep, why, sizeof(why)), WARD_EPARSE);
    WT_EQ_INT(rep.header_bytes_overwritten, 0);
    /* not one byte changed */
    WT_OK(plat_fs_read_file(NULL, img, PLAT_FS_NTS, 2 * 1024 * 1024, &data, &len));
    WT_EQ_INT(len, 1024 * 1024);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)data[i] != (unsigned char)(0xa5 ^ (i * 7)))
            wt_fail(__FILE__, __LINE__, "byte %zu changed", i);
    ward_free(data);
}
