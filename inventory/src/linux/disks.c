/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linux storage collectors: disks (block devices and partitions from /sys/block,
 * filesystems from /proc/self/mountinfo) and encryption (dm-crypt mappings from
 * /sys/block/dm-* and the mounts that sit on them). statvfs(2) is only asked on the live
 * system: under --root the mountpoints of the fixture are not mounted anywhere, so sizes
 * are left out; it is never asked of network or automount filesystems either, because a
 * dead server would block the whole inventory.
 */
#define WARD_LOG_TAG "inv-disk"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "../collector.h"
#include "inventory/parse.h"
#include "lxfs.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/error.h"

#define MOUNTINFO_MAX (16u << 20)
#define MOUNT_ROWS_MAX 100000
#define SLAVE_DEPTH_MAX 8

/* ---- block devices ---- */

static const char *disk_kind(const char *name)
{
    static const struct {
        const char *prefix, *kind;
    } kinds[] = {
        {"loop", "loop"}, {"dm-", "dm"},    {"md", "md"},   {"zram", "zram"},
        {"ram", "ram"},   {"nbd", "other"}, {"sr", "disk"},
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strncmp(name, kinds[i].prefix, strlen(kinds[i].prefix)) == 0)
            return kinds[i].kind;
    return "disk";
}

static const char *transport_from_path(const char *link)
{
    if (strstr(link, "/devices/virtual/"))
        return "virtual";
    if (strstr(link, "/usb"))
        return "usb";
    if (strstr(link, "/nvme"))
        return "nvme";
    if (strstr(link, "/virtio"))
        return "virtio";
    if (strstr(link, "/mmc"))
        return "mmc";
    if (strstr(link, "/ata"))
        return "sata";
    if (strstr(link, "/host") && strstr(link, "/target"))
        return "scsi";
    return NULL;
}

/* SCSI VPD page 0x80: 4-byte header (length in byte 3), then the serial in ASCII. */
static int vpd_serial(const struct inv_ctx *ctx, const char *dev, char *out, size_t size)
{
    char path[320], *data = NULL;
    size_t len = 0, n, s;
    int rc;
    snprintf(path, sizeof(path), "/sys/block/%s/device/vpd_pg80", dev);
    rc = inv_lx_read(ctx, path, 4096, &data, &len);
    if (rc != 0)
        return rc;
    rc = WARD_EPARSE;
    if (len >= 4) {
        n = (unsigned char)data[3];
        if (4 + n <= len) {
            s = 4;
            while (n && data[s] == ' ') {
                s++;
                n--;
            }
            while (n && (data[s + n - 1] == ' ' || data[s + n - 1] == '\0'))
                n--;
            if (n && n < size) {
                memcpy(out, data + s, n);
                out[n] = '\0';
                rc = 0;
            }
        }
    }
    ward_free(data);
    return rc;
}

static int partition_rows(struct inv_ctx *ctx, const char *dev)
{
    struct inv_names ents = {NULL, 0};
    char path[320];
    size_t dl = strlen(dev);
    int rc;

    snprintf(path, sizeof(path), "/sys/block/%s", dev);
    rc = inv_lx_listdir(ctx, path, &ents);
    if (rc != 0 && rc != WARD_ETOOBIG)
        return 0;
    rc = 0;
    for (size_t i = 0; rc == 0 && i < ents.n; i++) {
        const char *p = ents.v[i];
        long long num, start, size, ro;
        json_t *row;
        if (strncmp(p, dev, dl) != 0 ||
            inv_lx_attr_ll(ctx, &num, "/sys/block/%s/%s/partition", dev, p) != 0)
            continue;
        row = inv_ctx_new_row(ctx, &inv_t_disks_partitions);
        if (!row) {
            rc = WARD_ENOMEM;
            break;
        }
        rc = inv_row_str(row, "name", p);
        if (rc == 0)
            rc = inv_row_str(row, "disk", dev);
        if (rc == 0)
            rc = inv_row_int(row, "number", num);
        if (rc == 0 && inv_lx_attr_ll(ctx, &start, "/sys/block/%s/%s/start", dev, p) == 0)
            rc = inv_row_int(row, "start_sector", start);
        if (rc == 0 && inv_lx_attr_ll(ctx, &size, "/sys/block/%s/%s/size", dev, p) == 0 &&
            size >= 0 && size < (1LL << 54))
            rc = inv_row_int(row, "size_bytes", size * 512);
        if (rc == 0 && inv_lx_attr_ll(ctx, &ro, "/sys/block/%s/%s/ro", dev, p) == 0)
            rc = inv_row_bool(row, "read_only", ro != 0);
    }
    inv_names_release(&ents);
    return rc;
}

static int disk_row(struct inv_ctx *ctx, const char *dev)
{
    char v[256], link[1024];
    long long size, x;
    json_t *row;
    int rc;

    if (inv_lx_attr_ll(ctx, &size, "/sys/block/%s/size", dev) != 0 || size <= 0 ||
        size >= (1LL << 54))
        return 0; /* empty loop devices, card readers without a card */
    row = inv_ctx_new_row(ctx, &inv_t_disks_devices);
    if (!row)
        return WARD_ENOMEM;
    rc = inv_row_str(row, "name", dev);
    if (rc == 0)
        rc = inv_row_str(row, "kind", disk_kind(dev));
    if (rc == 0)
        rc = inv_row_int(row, "size_bytes", size * 512);
    if (rc == 0 && inv_lx_attr(ctx, v, sizeof(v), "/sys/block/%s/device/model", dev) == 0 && v[0])
        rc = inv_row_str(row, "model", v);
    if (rc == 0 && inv_lx_attr(ctx, v, sizeof(v), "/sys/block/%s/device/vendor", dev) == 0 &&
        v[0] && strncmp(v, "0x", 2) != 0) /* virtio gives its PCI vendor id */
        rc = inv_row_str(row, "vendor", v);
    if (rc == 0 &&
        ((inv_lx_attr(ctx, v, sizeof(v), "/sys/block/%s/device/serial", dev) == 0 && v[0]) ||
         (inv_lx_attr(ctx, v, sizeof(v), "/sys/block/%s/serial", dev) == 0 && v[0]) ||
         vpd_serial(ctx, dev, v, sizeof(v)) == 0))
        rc = inv_row_str(row, "serial", v);
    if (rc == 0 && inv_lx_attr_ll(ctx, &x, "/sys/block/%s/queue/rotational", dev) == 0)
        rc = inv_row_bool(row, "rotational", x != 0);
    if (rc == 0 && inv_lx_attr_ll(ctx, &x, "/sys/block/%s/removable", dev) == 0)
        rc = inv_row_bool(row, "removable", x != 0);
    if (rc == 0 && inv_lx_attr_ll(ctx, &x, "/sys/block/%s/ro", dev) == 0)
        rc = inv_row_bool(row, "read_only", x != 0);
    if (rc == 0 && inv_lx_readlink(ctx, link, sizeof(link), "/sys/block/%s", dev) == 0 &&
        transport_from_path(link))
        rc = inv_row_str(row, "transport", transport_from_path(link));
    if (rc == 0)
        rc = partition_rows(ctx, dev);
    return rc;
}

/* ---- filesystems ---- */

static int pseudo_fs(const char *t)
{
    static const char *const pseudo[] = {
        "proc",        "sysfs",   "cgroup",    "cgroup2",     "devpts",    "devtmpfs",
        "mqueue",      "debugfs", "tracefs",   "securityfs",  "pstore",    "bpf",
        "configfs",    "fusectl", "hugetlbfs", "binfmt_misc", "efivarfs",  "rpc_pipefs",
        "nsfs",        "tmpfs",   "ramfs",     "autofs",      "selinuxfs", "fuse.gvfsd-fuse",
        "fuse.portal", "nfsd",    "rootfs",    "squashfs",    NULL,
    };
    for (size_t i = 0; pseudo[i]; i++)
        if (strcmp(t, pseudo[i]) == 0)
            return 1;
    return 0;
}

static int network_fs(const char *t)
{
    return strncmp(t, "nfs", 3) == 0 || strcmp(t, "cifs") == 0 || strcmp(t, "smb3") == 0 ||
           strcmp(t, "smbfs") == 0 || strncmp(t, "fuse", 4) == 0 || strcmp(t, "ceph") == 0 ||
           strcmp(t, "glusterfs") == 0 || strcmp(t, "9p") == 0 || strcmp(t, "afs") == 0;
}

struct fs_walk {
    struct inv_ctx *ctx;
    json_t *by_mp; /* mountpoint -> row; a later (upper) mount replaces an earlier one */
    int timed_out;
};

static int fs_cb(const struct inv_mount *m, void *arg)
{
    struct fs_walk *w = arg;
    char dev[32];
    json_t *row;
    int rc;

    if (inv_ctx_expired(w->ctx)) {
        w->timed_out = 1;
        return 1;
    }
    if (pseudo_fs(m->fstype))
        return 0;
    row = json_object();
    if (!row)
        return WARD_ENOMEM;
    snprintf(dev, sizeof(dev), "%u:%u", m->major, m->minor);
    rc = inv_row_str(row, "mountpoint", m->mountpoint);
    if (rc == 0)
        rc = inv_row_str(row, "device", m->source);
    if (rc == 0)
        rc = inv_row_str(row, "fstype", m->fstype);
    if (rc == 0)
        rc = inv_row_str(row, "dev", dev);
    if (rc == 0)
        rc = inv_row_bool(row, "read_only", m->read_only);
    if (rc == 0 && w->ctx->live && !network_fs(m->fstype)) {
        struct statvfs sv;
        if (statvfs(m->mountpoint, &sv) == 0 && sv.f_frsize > 0) {
            unsigned long long f = sv.f_frsize;
            rc = inv_row_int(row, "size_bytes", (long long)(sv.f_blocks * f));
            if (rc == 0)
                rc = inv_row_int(row, "free_bytes", (long long)(sv.f_bfree * f));
            if (rc == 0)
                rc = inv_row_int(row, "available_bytes", (long long)(sv.f_bavail * f));
        }
    }
    if (rc == 0 && !json_object_get(row, "mountpoint"))
        rc = 0; /* unclean mountpoint text: no key, dropped below */
    else if (rc == 0 && json_object_set_new(w->by_mp, m->mountpoint, json_incref(row)) != 0)
        rc = WARD_ENOMEM;
    json_decref(row);
    return rc;
}

static int filesystem_rows(struct inv_ctx *ctx, int *timed_out)
{
    struct inv_parse_stats st;
    struct fs_walk w = {ctx, json_object(), 0};
    json_t *arr = inv_ctx_table(ctx, &inv_t_disks_filesystems), *row;
    const char *k;
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (!w.by_mp || !arr) {
        json_decref(w.by_mp);
        return WARD_ENOMEM;
    }
    rc = inv_lx_read(ctx, "/proc/self/mountinfo", MOUNTINFO_MAX, &data, &len);
    if (rc != 0) {
        json_decref(w.by_mp);
        return inv_ctx_fail(ctx, rc, "/proc/self/mountinfo: %s", ward_strerror(rc));
    }
    rc = inv_mountinfo_parse(data, len, MOUNT_ROWS_MAX, fs_cb, &w, &st);
    ward_free(data);
    if (rc == 1)
        rc = 0;
    json_object_foreach(w.by_mp, k, row) if (rc == 0 && json_array_append(arr, row) != 0) rc =
        WARD_ENOMEM;
    json_decref(w.by_mp);
    *timed_out = w.timed_out;
    if (rc == 0 && st.bad)
        rc = inv_ctx_fail(ctx, WARD_EPARSE, "/proc/self/mountinfo: %zu malformed lines", st.bad);
    if (rc == WARD_ETOOBIG)
        rc = inv_ctx_fail(ctx, rc, "/proc/self/mountinfo: more than %d mounts", MOUNT_ROWS_MAX);
    return rc;
}

static int collect_disks(struct inv_ctx *ctx)
{
    struct inv_names devs = {NULL, 0};
    int rc, timed_out = 0;

    if (!inv_ctx_table(ctx, &inv_t_disks_devices) || !inv_ctx_table(ctx, &inv_t_disks_partitions))
        return WARD_ENOMEM;
    rc = inv_lx_listdir(ctx, "/sys/block", &devs);
    if (rc != 0 && rc != WARD_ETOOBIG && rc != WARD_ENOENT)
        return inv_ctx_fail(ctx, rc, "/sys/block: %s", ward_strerror(rc));
    rc = 0;
    for (size_t i = 0; rc == 0 && i < devs.n; i++) {
        if (inv_ctx_expired(ctx)) {
            timed_out = 1;
            break;
        }
        rc = disk_row(ctx, devs.v[i]);
    }
    inv_names_release(&devs);
    if (rc != 0)
        return rc;
    if (!timed_out) {
        rc = filesystem_rows(ctx, &timed_out);
        if (rc != 0) {
            ctx->partial = rc != WARD_ENOMEM; /* the block devices are good */
            return rc;
        }
    }
    if (timed_out)
        return inv_ctx_fail(ctx, WARD_ETIMEDOUT, "over budget; rows so far kept");
    return 0;
}

/* ---- encryption ---- */

struct dmdev {
    char name[32];    /* dm-0 */
    char mapper[128]; /* dm/name */
    char uuid[160];   /* dm/uuid */
    char dev[32];     /* major:minor */
    char slaves[256]; /* comma-separated */
    int crypt;
    struct ward_buf mps; /* comma-separated mountpoints */
    int holds_root;
};

struct enc {
    struct inv_ctx *ctx;
    struct dmdev *d;
    size_t n;
    long long fs_encrypted;
    int root_encrypted;
};

static struct dmdev *dm_by_name(struct enc *e, const char *name)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->d[i].name, name) == 0)
            return &e->d[i];
    return NULL;
}

/* Marks every crypt device at or below d; returns whether there was one. */
static int mark_crypt(struct enc *e, struct dmdev *d, const char *mp, int depth)
{
    int found = 0;
    char sl[256], *p, *save;
    if (!d || depth > SLAVE_DEPTH_MAX)
        return 0;
    if (d->crypt) {
        found = 1;
        if (d->mps.len)
            ward_buf_append_str(&d->mps, ",");
        ward_buf_append_str(&d->mps, mp);
        if (strcmp(mp, "/") == 0)
            d->holds_root = 1;
    }
    memcpy(sl, d->slaves, sizeof(sl));
    for (p = sl; p && *p; p = save) {
        save = strchr(p, ',');
        if (save)
            *save++ = '\0';
        found |= mark_crypt(e, dm_by_name(e, p), mp, depth + 1);
    }
    return found;
}

static int enc_mount_cb(const struct inv_mount *m, void *arg)
{
    struct enc *e = arg;
    char dev[32];
    struct dmdev *d = NULL;
    snprintf(dev, sizeof(dev), "%u:%u", m->major, m->minor);
    for (size_t i = 0; i < e->n && !d; i++)
        if (strcmp(e->d[i].dev, dev) == 0)
            d = &e->d[i];
    /* btrfs and friends report an anonymous device number: go by the source name */
    if (!d && strncmp(m->source, "/dev/mapper/", 12) == 0)
        for (size_t i = 0; i < e->n && !d; i++)
            if (strcmp(e->d[i].mapper, m->source + 12) == 0)
                d = &e->d[i];
    if (!d && strncmp(m->source, "/dev/dm-", 8) == 0)
        d = dm_by_name(e, m->source + 5);
    if (d && mark_crypt(e, d, m->mountpoint, 0)) {
        e->fs_encrypted++;
        if (strcmp(m->mountpoint, "/") == 0)
            e->root_encrypted = 1;
    }
    return 0;
}

/* CRYPT-LUKS2-0123abcd...-name -> type "LUKS2", uuid in 8-4-4-4-12 form. */
static int volume_row(struct inv_ctx *ctx, const struct dmdev *d)
{
    const char *t = d->uuid + 6, *dash = strchr(t, '-');
    char type[32] = "", uuid[40] = "";
    json_t *row = inv_ctx_new_row(ctx, &inv_t_encryption_volumes);
    int rc;
    if (!row)
        return WARD_ENOMEM;
    if (dash && (size_t)(dash - t) < sizeof(type)) {
        memcpy(type, t, (size_t)(dash - t));
        type[dash - t] = '\0';
        if (strncmp(type, "LUKS", 4) == 0 && strlen(dash + 1) >= 32) {
            const char *h = dash + 1;
            int ok = 1;
            for (int i = 0; i < 32; i++)
                if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
                    ok = 0;
            if (ok)
                snprintf(uuid, sizeof(uuid), "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16,
                         h + 20);
        }
    }
    rc = inv_row_str(row, "name", d->name);
    if (rc == 0 && d->mapper[0])
        rc = inv_row_str(row, "mapper_name", d->mapper);
    if (rc == 0 && type[0])
        rc = inv_row_str(row, "type", type);
    if (rc == 0 && uuid[0])
        rc = inv_row_str(row, "uuid", uuid);
    if (rc == 0)
        rc = inv_row_str(row, "backing_devices", d->slaves);
    if (rc == 0)
        rc = inv_row_str(row, "mountpoints", d->mps.data ? d->mps.data : "");
    if (rc == 0)
        rc = inv_row_bool(row, "holds_root", d->holds_root);
    return rc;
}

static int collect_encryption(struct inv_ctx *ctx)
{
    struct inv_names devs = {NULL, 0};
    struct enc e;
    json_t *sum = inv_ctx_table(ctx, &inv_t_encryption);
    char *data = NULL;
    size_t len = 0;
    long long ncrypt = 0;
    int rc;

    memset(&e, 0, sizeof(e));
    e.ctx = ctx;
    if (!sum || !inv_ctx_table(ctx, &inv_t_encryption_volumes))
        return WARD_ENOMEM;
    rc = inv_lx_listdir(ctx, "/sys/block", &devs);
    if (rc != 0 && rc != WARD_ETOOBIG && rc != WARD_ENOENT)
        return inv_ctx_fail(ctx, rc, "/sys/block: %s", ward_strerror(rc));
    if (devs.n) {
        e.d = ward_calloc(devs.n, sizeof(*e.d));
        if (!e.d) {
            rc = WARD_ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < devs.n; i++) {
        struct dmdev *d = &e.d[e.n];
        struct inv_names sl = {NULL, 0};
        char path[320];
        if (strncmp(devs.v[i], "dm-", 3) != 0 || strlen(devs.v[i]) >= sizeof(d->name))
            continue;
        snprintf(d->name, sizeof(d->name), "%s", devs.v[i]);
        ward_buf_init(&d->mps, 64 * 1024);
        inv_lx_attr(ctx, d->mapper, sizeof(d->mapper), "/sys/block/%s/dm/name", d->name);
        inv_lx_attr(ctx, d->uuid, sizeof(d->uuid), "/sys/block/%s/dm/uuid", d->name);
        inv_lx_attr(ctx, d->dev, sizeof(d->dev), "/sys/block/%s/dev", d->name);
        d->crypt = strncmp(d->uuid, "CRYPT-", 6) == 0;
        snprintf(path, sizeof(path), "/sys/block/%s/slaves", d->name);
        if (inv_lx_listdir(ctx, path, &sl) == 0) {
            size_t o = 0;
            for (size_t k = 0; k < sl.n; k++) {
                int n =
                    snprintf(d->slaves + o, sizeof(d->slaves) - o, "%s%s", k ? "," : "", sl.v[k]);
                if (n < 0 || (size_t)n >= sizeof(d->slaves) - o)
                    break;
                o += (size_t)n;
            }
        }
        inv_names_release(&sl);
        ncrypt += d->crypt;
        e.n++;
    }
    rc = inv_lx_read(ctx, "/proc/self/mountinfo", MOUNTINFO_MAX, &data, &len);
    if (rc == 0)
        rc = inv_mountinfo_parse(data, len, MOUNT_ROWS_MAX, enc_mount_cb, &e, NULL);
    if (rc != 0) {
        rc = inv_ctx_fail(ctx, rc, "/proc/self/mountinfo: %s", ward_strerror(rc));
        goto out;
    }
    for (size_t i = 0; rc == 0 && i < e.n; i++)
        if (e.d[i].crypt)
            rc = volume_row(ctx, &e.d[i]);
    if (rc == 0)
        rc = inv_row_bool(sum, "root_encrypted", e.root_encrypted);
    if (rc == 0)
        rc = inv_row_int(sum, "encrypted_volumes", ncrypt);
    if (rc == 0)
        rc = inv_row_int(sum, "encrypted_filesystems", e.fs_encrypted);
out:
    for (size_t i = 0; i < e.n; i++)
        ward_buf_release(&e.d[i].mps);
    ward_free(e.d);
    ward_free(data);
    inv_names_release(&devs);
    return rc;
}

const struct inv_collector inv_lx_disks = {
    .name = "disks",
    .section = &inv_sec_disks,
    .collect = collect_disks,
    .budget_ms = 1000,
    .cheap = 0,
};
const struct inv_collector inv_lx_encryption = {
    .name = "encryption",
    .section = &inv_sec_encryption,
    .collect = collect_encryption,
    .budget_ms = 500,
    .cheap = 0,
};
