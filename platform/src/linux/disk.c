/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linux disks for the wipe commands (platform/disk.h): the LUKS container under a mount
 * found through mountinfo and the device-mapper tree in sysfs (read under a root prefix
 * through platform/fs.h, so tests use fixture trees), LUKS headers read and erased with
 * cryptsetup run by argv, and the header area and whole devices overwritten with pwrite.
 * The text parsers are pure (buf, len) functions at the top.
 */
#define WARD_LOG_TAG "disk"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../errmap.h"
#include "platform/disk.h"
#include "platform/fs.h"
#include "platform/proc.h"
#include "ward/alloc.h"
#include "ward/config.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/log.h"

#define DISK_CHUNK (1024 * 1024)
#define DISK_PROGRESS_STEP (64LL * 1024 * 1024)
#define DISK_PROC_MAX (4 * 1024 * 1024) /* mountinfo with thousands of mounts */
#define DISK_SYS_MAX 4096
#define DISK_DM_DEPTH 16
#define DISK_MAX_FOUND 8
#define CRYPTSETUP_TIMEOUT_MS (120 * 1000)

static void set_why(char *why, size_t whylen, const char *fmt, ...) WARD_PRINTF(3, 4);

static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    if (!why || whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* ---- parsers ------------------------------------------------------------------------------ */

/* Next line of buf[*pos..len) without its newline; 0 at the end. */
static int next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *llen)
{
    size_t s = *pos, e;
    if (s >= len)
        return 0;
    for (e = s; e < len && buf[e] != '\n'; e++)
        ;
    *line = buf + s;
    *llen = e - s;
    *pos = e < len ? e + 1 : e;
    return 1;
}

/* Splits a line into space-separated fields (runs of spaces count once). */
static size_t split_fields(const char *line, size_t len, const char **f, size_t *flen, size_t max)
{
    size_t n = 0, i = 0;
    while (i < len && n < max) {
        while (i < len && line[i] == ' ')
            i++;
        if (i >= len)
            break;
        size_t s = i;
        while (i < len && line[i] != ' ')
            i++;
        f[n] = line + s;
        flen[n] = i - s;
        n++;
    }
    return n;
}

/* Decodes the kernel's octal escapes (\040 for space, \134 for backslash ...) into out.
 * -1 when it does not fit or decodes to a NUL byte. */
static int unescape(const char *s, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
            s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
            c = (unsigned char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        }
        if (c == 0)
            return -1;
        if (o + 1 >= outlen)
            return -1;
        out[o++] = (char)c;
    }
    if (outlen == 0)
        return -1;
    out[o] = '\0';
    return 0;
}

static int parse_uint(const char *s, size_t len, unsigned long long max, unsigned long long *out)
{
    unsigned long long v = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int parse_majmin(const char *s, size_t len, unsigned *maj, unsigned *min)
{
    const char *colon = memchr(s, ':', len);
    unsigned long long a, b;
    if (!colon)
        return -1;
    if (parse_uint(s, (size_t)(colon - s), UINT_MAX, &a) != 0 ||
        parse_uint(colon + 1, len - (size_t)(colon - s) - 1, UINT_MAX, &b) != 0)
        return -1;
    *maj = (unsigned)a;
    *min = (unsigned)b;
    return 0;
}

/* One mountinfo line whose mount point matched: fields 3 and, after the "-" separator,
 * fstype and source. */
static int mountinfo_entry(const char *const *f, const size_t *fl, size_t n,
                           struct plat_disk_mount *m)
{
    size_t sep = 0;
    memset(m, 0, sizeof(*m));
    if (parse_majmin(f[2], fl[2], &m->major, &m->minor) != 0)
        return -1;
    for (size_t i = 6; i < n; i++)
        if (fl[i] == 1 && f[i][0] == '-') {
            sep = i;
            break;
        }
    if (sep == 0 || sep + 2 >= n)
        return -1;
    if (unescape(f[sep + 1], fl[sep + 1], m->fstype, sizeof(m->fstype)) != 0 ||
        unescape(f[sep + 2], fl[sep + 2], m->source, sizeof(m->source)) != 0)
        return -1;
    return 0;
}

int plat_disk_parse_mountinfo(const char *buf, size_t len, const char *mountpoint,
                              struct plat_disk_mount *out)
{
    enum { MAXF = 64 };
    const char *line, *f[MAXF];
    size_t llen, fl[MAXF], pos = 0;
    int state = WARD_ENOENT;
    struct plat_disk_mount m;

    if (!buf || !mountpoint || !out)
        return WARD_EINVAL;
    while (next_line(buf, len, &pos, &line, &llen)) {
        char mp[PLAT_FS_MAX_PATH];
        size_t n = split_fields(line, llen, f, fl, MAXF);
        if (n < 5 || unescape(f[4], fl[4], mp, sizeof(mp)) != 0 || strcmp(mp, mountpoint) != 0)
            continue;
        /* a later entry for the same mount point is mounted over the earlier ones */
        if (mountinfo_entry(f, fl, n, &m) == 0) {
            *out = m;
            state = 0;
        } else {
            state = WARD_EPARSE;
        }
    }
    return state;
}

static const char *skip_ws(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    return s;
}

static const char *trim_end(const char *s, const char *end)
{
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    return end;
}

/* "key:<ws>value" at the start of line (after leading whitespace): value span, or NULL. */
static const char *key_value(const char *line, size_t llen, const char *key, const char **vend)
{
    const char *end = line + llen, *p = skip_ws(line, end);
    size_t kl = strlen(key);
    if ((size_t)(end - p) < kl || memcmp(p, key, kl) != 0)
        return NULL;
    p = skip_ws(p + kl, end);
    *vend = trim_end(p, end);
    return p;
}

/* A number, optionally followed by " [bytes]". */
static int value_number(const char *v, const char *vend, long long *out)
{
    const char *e = v;
    unsigned long long x;
    while (e < vend && *e >= '0' && *e <= '9')
        e++;
    if (parse_uint(v, (size_t)(e - v), LLONG_MAX, &x) != 0)
        return -1;
    e = skip_ws(e, vend);
    if (e != vend && !((size_t)(vend - e) == 7 && memcmp(e, "[bytes]", 7) == 0))
        return -1;
    *out = (long long)x;
    return 0;
}

int plat_disk_parse_luks_dump(const char *buf, size_t len, struct plat_luks_info *out)
{
    enum { SEC_TOP, SEC_SEGMENTS, SEC_KEYSLOTS, SEC_OTHER } sec = SEC_TOP;
    const char *line, *v, *ve;
    size_t llen, pos = 0;
    int seen_header = 0, version = 0, slots = 0, have_segment = 0;
    long long meta = 0, ksarea = 0, payload = -1, seg_off = 0;
    char uuid[64] = "";

    if (!buf || !out)
        return WARD_EINVAL;
    while (next_line(buf, len, &pos, &line, &llen)) {
        const char *end = trim_end(line, line + llen);
        llen = (size_t)(end - line);
        if (llen == 0)
            continue;
        if (llen >= 23 && memcmp(line, "LUKS header information", 23) == 0) {
            seen_header = 1;
            continue;
        }
        if (line[0] != ' ' && line[0] != '\t' && line[llen - 1] == ':') {
            /* LUKS2 section headers: "Data segments:", "Keyslots:", "Tokens:", "Digests:" */
            if (llen == 14 && memcmp(line, "Data segments:", 14) == 0)
                sec = SEC_SEGMENTS;
            else if (llen == 9 && memcmp(line, "Keyslots:", 9) == 0)
                sec = SEC_KEYSLOTS;
            else
                sec = SEC_OTHER;
            continue;
        }
        if (line[0] != ' ' && line[0] != '\t') {
            if ((v = key_value(line, llen, "Version:", &ve))) {
                long long x;
                if (value_number(v, ve, &x) != 0 || (x != 1 && x != 2))
                    return WARD_EPARSE;
                version = (int)x;
            } else if ((v = key_value(line, llen, "UUID:", &ve))) {
                size_t n = (size_t)(ve - v);
                if (n == 0 || n >= sizeof(uuid))
                    return WARD_EPARSE;
                for (size_t i = 0; i < n; i++)
                    if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f)
                        return WARD_EPARSE;
                memcpy(uuid, v, n);
                uuid[n] = '\0';
            } else if ((v = key_value(line, llen, "Metadata area:", &ve))) {
                if (value_number(v, ve, &meta) != 0)
                    return WARD_EPARSE;
            } else if ((v = key_value(line, llen, "Keyslots area:", &ve))) {
                if (value_number(v, ve, &ksarea) != 0)
                    return WARD_EPARSE;
            } else if ((v = key_value(line, llen, "Payload offset:", &ve))) {
                if (value_number(v, ve, &payload) != 0 || payload > LLONG_MAX / 512)
                    return WARD_EPARSE;
            } else if ((v = key_value(line, llen, "Key Slot ", &ve))) {
                /* LUKS1: "Key Slot 3: ENABLED" / "DISABLED" */
                const char *colon = memchr(v, ':', (size_t)(ve - v));
                if (colon) {
                    const char *st = skip_ws(colon + 1, ve);
                    if ((size_t)(ve - st) == 7 && memcmp(st, "ENABLED", 7) == 0)
                        slots++;
                }
            }
            continue;
        }
        if (sec == SEC_KEYSLOTS && line[0] == ' ') {
            /* "  0: luks2": an entry at two spaces; its details are tab-indented */
            const char *p = skip_ws(line, end), *d = p;
            while (d < end && *d >= '0' && *d <= '9')
                d++;
            if (d > p && d < end && *d == ':')
                slots++;
        } else if (sec == SEC_SEGMENTS && !have_segment &&
                   (v = key_value(line, llen, "offset:", &ve))) {
            if (value_number(v, ve, &seg_off) != 0)
                return WARD_EPARSE;
            have_segment = 1;
        }
    }
    if (!seen_header || version == 0 || !uuid[0] || (version == 1 && payload < 0))
        return WARD_EPARSE;

    memset(out->uuid, 0, sizeof(out->uuid));
    memcpy(out->uuid, uuid, strlen(uuid) + 1);
    out->version = version;
    out->keyslots = slots;
    out->header_bytes = 0;
    out->data_offset = 0;
    if (version == 2) {
        out->data_offset = seg_off;
        if (meta > 0 && ksarea > 0 && meta <= (LLONG_MAX - ksarea) / 2)
            out->header_bytes = 2 * meta + ksarea;
        else
            out->header_bytes = seg_off; /* old cryptsetup without the area lines */
    } else {
        out->data_offset = payload * 512;
        out->header_bytes = payload * 512;
    }
    return 0;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int plat_disk_parse_dm_uuid(const char *buf, size_t len, int *version, char *uuid, size_t uuidlen)
{
    const char *p, *end, *dash;
    size_t n;

    if (!buf || !version || !uuid || uuidlen == 0)
        return WARD_EINVAL;
    end = trim_end(buf, buf + len);
    while (end > buf && (end[-1] == '\n' || end[-1] == '\r'))
        end = trim_end(buf, end - 1);
    if (end - buf < 12 || memcmp(buf, "CRYPT-LUKS", 10) != 0 ||
        (buf[10] != '1' && buf[10] != '2') || buf[11] != '-')
        return WARD_ENOENT;
    p = buf + 12;
    dash = memchr(p, '-', (size_t)(end - p));
    n = (size_t)((dash ? dash : end) - p);
    if (n == 0)
        return WARD_EPARSE;
    if (n == 32) {
        static const int groups[] = {8, 4, 4, 4, 12};
        size_t o = 0, i = 0;
        for (size_t k = 0; k < 32; k++)
            if (!is_hex(p[k]))
                return WARD_EPARSE;
        if (uuidlen < 37)
            return WARD_ETOOBIG;
        for (size_t g = 0; g < 5; g++) {
            if (g)
                uuid[o++] = '-';
            for (int k = 0; k < groups[g]; k++) {
                char c = p[i++];
                uuid[o++] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
            }
        }
        uuid[o] = '\0';
    } else {
        for (size_t k = 0; k < n; k++)
            if ((unsigned char)p[k] <= 0x20 || p[k] == 0x7f)
                return WARD_EPARSE;
        if (n >= uuidlen)
            return WARD_ETOOBIG;
        memcpy(uuid, p, n);
        uuid[n] = '\0';
    }
    *version = buf[10] - '0';
    return 0;
}

/* ---- sysfs walk --------------------------------------------------------------------------- */

/* Small sysfs attribute, trailing whitespace removed. */
static int read_attr(const char *root, const char *path, char *out, size_t outlen)
{
    char *data = NULL;
    size_t len = 0;
    int rc = plat_fs_read_file(root, path, PLAT_FS_NTS, DISK_SYS_MAX, &data, &len);
    if (rc != 0)
        return rc;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' ' || data[len - 1] == '\r'))
        len--;
    if (len >= outlen || memchr(data, '\0', len)) {
        ward_free(data);
        return WARD_EPARSE;
    }
    memcpy(out, data, len);
    out[len] = '\0';
    ward_free(data);
    return 0;
}

/* A kernel block device name as it appears in /sys/block and slaves/. */
static int valid_kname(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= 64 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == '/' || c == 0x7f)
            return 0;
    }
    return 1;
}

static int is_dm(const char *kname)
{
    return strncmp(kname, "dm-", 3) == 0;
}

/* /dev path of a kernel name: the kernel writes '/' as '!' (cciss!c0d0). */
static void dev_path(const char *kname, char *out, size_t outlen)
{
    size_t o = 0;
    const char *pre = "/dev/";
    for (; *pre && o + 1 < outlen; pre++)
        out[o++] = *pre;
    for (; *kname && o + 1 < outlen; kname++)
        out[o++] = *kname == '!' ? '/' : *kname;
    out[o] = '\0';
}

static int dm_uuid(const char *root, const char *kname, char *out, size_t outlen)
{
    char p[256];
    snprintf(p, sizeof(p), "/sys/block/%s/dm/uuid", kname);
    return read_attr(root, p, out, outlen);
}

static int slaves(const char *root, const char *kname, char ***names, size_t *count)
{
    char p[256];
    int rc;
    snprintf(p, sizeof(p), "/sys/block/%s/slaves", kname);
    /* a partial list could hide a second LUKS container: more is an error, not a guess */
    rc = plat_fs_listdir(root, p, PLAT_FS_NTS, 1024, names, count);
    if (rc != 0) {
        if (rc == WARD_ETOOBIG)
            plat_fs_names_free(*names, *count);
        *names = NULL;
        *count = 0;
        return rc;
    }
    for (size_t i = 0; i < *count; i++)
        if (!valid_kname((*names)[i])) {
            plat_fs_names_free(*names, *count);
            *names = NULL;
            *count = 0;
            return WARD_EPARSE;
        }
    return 0;
}

struct walk {
    const char *root;
    struct plat_luks_info found[DISK_MAX_FOUND];
    size_t nfound;
    int more;  /* found more than DISK_MAX_FOUND */
    int plain; /* a non-LUKS dm-crypt mapping was seen */
    char *why;
    size_t whylen;
};

static int add_found(struct walk *w, const char *kname, int version, const char *uuid)
{
    struct plat_luks_info *f;
    char dev[256];
    dev_path(kname, dev, sizeof(dev));
    for (size_t i = 0; i < w->nfound; i++)
        if (strcmp(w->found[i].device, dev) == 0)
            return 0;
    if (w->nfound == DISK_MAX_FOUND) {
        w->more = 1;
        return 0;
    }
    f = &w->found[w->nfound++];
    memset(f, 0, sizeof(*f));
    memcpy(f->device, dev, strlen(dev) + 1);
    f->version = version;
    f->keyslots = -1;
    snprintf(f->uuid, sizeof(f->uuid), "%s", uuid);
    return 0;
}

/* The one slave of a mapping that must have exactly one (crypt, integrity). */
static int single_slave(struct walk *w, const char *kname, char *out, size_t outlen)
{
    char **names = NULL;
    size_t n = 0;
    int rc = slaves(w->root, kname, &names, &n);
    if (rc != 0) {
        set_why(w->why, w->whylen, "cannot list /sys/block/%s/slaves: %s", kname,
                ward_err_name(rc));
        return rc == WARD_ENOENT ? WARD_EPARSE : rc;
    }
    if (n != 1) {
        set_why(w->why, w->whylen, "device-mapper %s has %zu slaves, expected one", kname, n);
        plat_fs_names_free(names, n);
        return WARD_EPARSE;
    }
    snprintf(out, outlen, "%s", names[0]);
    plat_fs_names_free(names, n);
    return 0;
}

static int walk_dm(struct walk *w, const char *kname, int depth)
{
    char uuid[256], luks_uuid[64], below[64];
    char **names = NULL;
    size_t n = 0;
    int version, rc;

    if (depth > DISK_DM_DEPTH) {
        set_why(w->why, w->whylen, "device-mapper stack deeper than %d at %s", DISK_DM_DEPTH,
                kname);
        return WARD_EPARSE;
    }
    rc = dm_uuid(w->root, kname, uuid, sizeof(uuid));
    if (rc == WARD_ENOENT)
        return 0; /* not device-mapper: a leaf */
    if (rc != 0) {
        set_why(w->why, w->whylen, "cannot read /sys/block/%s/dm/uuid: %s", kname,
                ward_err_name(rc));
        return rc;
    }
    rc = plat_disk_parse_dm_uuid(uuid, strlen(uuid), &version, luks_uuid, sizeof(luks_uuid));
    if (rc == 0) {
        rc = single_slave(w, kname, below, sizeof(below));
        if (rc != 0)
            return rc;
        /* LUKS2 with authenticated encryption puts a dm-integrity device between the
         * crypt mapping and the partition that holds the header */
        if (is_dm(below) && dm_uuid(w->root, below, uuid, sizeof(uuid)) == 0 &&
            strncmp(uuid, "CRYPT-SUBDEV-", 13) == 0) {
            char sub[64];
            rc = single_slave(w, below, sub, sizeof(sub));
            if (rc != 0)
                return rc;
            memcpy(below, sub, sizeof(below));
        }
        return add_found(w, below, version, luks_uuid);
    }
    if (rc != WARD_ENOENT) {
        set_why(w->why, w->whylen, "malformed device-mapper uuid of %s", kname);
        return WARD_EPARSE;
    }
    if (strncmp(uuid, "CRYPT-", 6) == 0) {
        w->plain = 1; /* plain dm-crypt, loop-AES, BitLocker, VeraCrypt: no LUKS header */
        return 0;
    }
    rc = slaves(w->root, kname, &names, &n);
    if (rc == WARD_ENOENT)
        return 0;
    if (rc != 0) {
        set_why(w->why, w->whylen, "cannot list /sys/block/%s/slaves: %s", kname,
                ward_err_name(rc));
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        if (is_dm(names[i]))
            rc = walk_dm(w, names[i], depth + 1);
    plat_fs_names_free(names, n);
    return rc;
}

/* Kernel name of the mounted device: /sys/dev/block/MAJ:MIN is a link to its sysfs
 * directory; a btrfs-style anonymous device number falls back to the source name. */
static int mount_kname(const char *root, const struct plat_disk_mount *m, char *out, size_t outlen)
{
    char p[64], *target = NULL;
    const char *base;
    int rc;

    if (m->major != 0) {
        snprintf(p, sizeof(p), "/sys/dev/block/%u:%u", m->major, m->minor);
        rc = plat_fs_readlink(root, p, PLAT_FS_NTS, &target);
        if (rc == 0) {
            base = strrchr(target, '/');
            base = base ? base + 1 : target;
            if (valid_kname(base) && strlen(base) < outlen) {
                snprintf(out, outlen, "%s", base);
                ward_free(target);
                return 0;
            }
            ward_free(target);
            return WARD_EPARSE;
        }
    }
    if (strncmp(m->source, "/dev/dm-", 8) == 0 && valid_kname(m->source + 5)) {
        snprintf(out, outlen, "%s", m->source + 5);
        return 0;
    }
    if (strncmp(m->source, "/dev/mapper/", 12) == 0) {
        const char *want = m->source + 12;
        char **names = NULL, name[256];
        size_t n = 0;
        rc = plat_fs_listdir(root, "/sys/block", PLAT_FS_NTS, 4096, &names, &n);
        if (rc != 0 && rc != WARD_ETOOBIG)
            return WARD_ENOENT;
        rc = WARD_ENOENT;
        for (size_t i = 0; i < n; i++) {
            char np[256];
            if (!is_dm(names[i]) || !valid_kname(names[i]))
                continue;
            snprintf(np, sizeof(np), "/sys/block/%s/dm/name", names[i]);
            if (read_attr(root, np, name, sizeof(name)) == 0 && strcmp(name, want) == 0 &&
                strlen(names[i]) < outlen) {
                snprintf(out, outlen, "%s", names[i]);
                rc = 0;
                break;
            }
        }
        plat_fs_names_free(names, n);
        return rc;
    }
    return WARD_ENOENT;
}

int plat_disk_root_luks(const char *root, const char *mountpoint, struct plat_luks_info *out,
                        char *why, size_t whylen)
{
    struct plat_disk_mount m;
    struct walk *w = NULL;
    char kname[64];
    char *data = NULL;
    size_t len = 0;
    int rc;

    set_why(why, whylen, "%s", "");
    if (!mountpoint || !out) {
        set_why(why, whylen, "no mount point or output given");
        return WARD_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    out->keyslots = -1;

    rc = plat_fs_read_file(root, "/proc/self/mountinfo", PLAT_FS_NTS, DISK_PROC_MAX, &data, &len);
    if (rc != 0) {
        set_why(why, whylen, "cannot read /proc/self/mountinfo: %s", ward_err_name(rc));
        return rc == WARD_ENOENT ? WARD_EPARSE : rc;
    }
    rc = plat_disk_parse_mountinfo(data, len, mountpoint, &m);
    ward_free(data);
    if (rc == WARD_ENOENT) {
        set_why(why, whylen, "nothing is mounted at %s", mountpoint);
        return WARD_ENOENT;
    }
    if (rc != 0) {
        set_why(why, whylen, "malformed mountinfo entry for %s", mountpoint);
        return rc;
    }

    rc = mount_kname(root, &m, kname, sizeof(kname));
    if (rc != 0) {
        set_why(why, whylen,
                "%s is on %s (%s, %u:%u), not a block device found in sysfs, so "
                "not on LUKS",
                mountpoint, m.source, m.fstype, m.major, m.minor);
        return rc == WARD_EPARSE ? rc : WARD_ENOENT;
    }
    if (!is_dm(kname)) {
        set_why(why, whylen,
                "%s is on %s (%s, block device %s), not on device-mapper, so not "
                "on LUKS",
                mountpoint, m.source, m.fstype, kname);
        return WARD_ENOENT;
    }

    w = ward_calloc(1, sizeof(*w));
    if (!w) {
        set_why(why, whylen, "out of memory");
        return WARD_ENOMEM;
    }
    w->root = root;
    w->why = why;
    w->whylen = whylen;
    rc = walk_dm(w, kname, 0);
    if (rc != 0)
        goto out;
    if (w->nfound == 0) {
        set_why(why, whylen, "%s is on %s (%s), %s", mountpoint, m.source, kname,
                w->plain ? "plain dm-crypt without a LUKS header"
                         : "a device-mapper stack with no LUKS layer");
        rc = WARD_ENOENT;
        goto out;
    }
    if (w->nfound > 1 || w->more) {
        char list[160] = "";
        size_t o = 0;
        for (size_t i = 0; i < w->nfound && o < sizeof(list); i++) {
            int k = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", w->found[i].device);
            if (k < 0)
                break;
            o += (size_t)k;
        }
        set_why(why, whylen,
                "%s spans %s%zu LUKS containers (%s): only a single one is "
                "supported",
                mountpoint, w->more ? "more than " : "", w->nfound, list);
        rc = WARD_ENOTSUP;
        goto out;
    }
    *out = w->found[0];
    rc = 0;
out:
    ward_free(w);
    return rc;
}

/* ---- cryptsetup --------------------------------------------------------------------------- */

static const char *cryptsetup_path(void)
{
    static const char *const paths[] = {"/sbin/cryptsetup", "/usr/sbin/cryptsetup", NULL};
    for (size_t i = 0; paths[i]; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

/* First line of a child's stderr (or stdout), for why. */
static void first_line(const struct plat_proc_result *r, char *out, size_t outlen)
{
    const char *s = r->err && r->err[0] ? r->err : (r->out ? r->out : "");
    size_t n = strcspn(s, "\n");
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

static int run_cryptsetup(const char *const *argv, struct plat_proc_result *res, char *why,
                          size_t whylen)
{
    struct plat_proc_opts o;
    int rc;
    memset(&o, 0, sizeof(o));
    o.argv = argv;
    o.timeout_ms = CRYPTSETUP_TIMEOUT_MS;
    rc = plat_proc_run(&o, res);
    if (rc != 0)
        set_why(why, whylen, "cannot run %s: %s", argv[0], ward_err_name(rc));
    else if (res->timed_out)
        set_why(why, whylen, "%s %s timed out", argv[0], argv[1]);
    return rc;
}

static int check_device_arg(const char *device, char *why, size_t whylen)
{
    if (!device || device[0] != '/') {
        set_why(why, whylen, "device path must be absolute: %s", device ? device : "(null)");
        return WARD_EINVAL;
    }
    if (strlen(device) >= sizeof(((struct plat_luks_info *)0)->device)) {
        set_why(why, whylen, "device path too long");
        return WARD_EINVAL;
    }
    return 0;
}

int plat_disk_luks_inspect(const char *device, struct plat_luks_info *out, char *why, size_t whylen)
{
    struct plat_proc_result res;
    struct stat st;
    const char *cs;
    char line[160];
    int rc;

    set_why(why, whylen, "%s", "");
    if (!out) {
        set_why(why, whylen, "no output given");
        return WARD_EINVAL;
    }
    rc = check_device_arg(device, why, whylen);
    if (rc != 0)
        return rc;
    if (stat(device, &st) != 0) {
        rc = plat_err_from_errno(errno);
        set_why(why, whylen, "%s: %s", device, strerror(errno));
        return rc;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        set_why(why, whylen, "%s is neither a block device nor a regular file", device);
        return WARD_EINVAL;
    }
    cs = cryptsetup_path();
    if (!cs) {
        set_why(why, whylen,
                "cryptsetup not found (/sbin/cryptsetup, /usr/sbin/cryptsetup; "
                "package cryptsetup-bin)");
        return WARD_ENOENT;
    }
    {
        const char *argv[] = {cs, "luksDump", device, NULL};
        rc = run_cryptsetup(argv, &res, why, whylen);
    }
    if (rc != 0)
        return rc;
    if (res.timed_out) {
        rc = WARD_ETIMEDOUT;
    } else if (res.exit_status != 0 || res.term_signal != 0) {
        first_line(&res, line, sizeof(line));
        if (res.err && strstr(res.err, "not a valid LUKS device")) {
            set_why(why, whylen, "%s is not a LUKS device", device);
            rc = WARD_EPARSE;
        } else {
            set_why(why, whylen, "cryptsetup luksDump %s failed (exit %lld): %s", device,
                    (long long)res.exit_status, line);
            rc = res.exit_status == 4 ? WARD_ENOENT : WARD_EIO;
        }
    } else {
        rc = plat_disk_parse_luks_dump(res.out, res.out_len, out);
        if (rc != 0)
            set_why(why, whylen, "cannot parse cryptsetup luksDump output for %s", device);
        else
            snprintf(out->device, sizeof(out->device), "%s", device);
    }
    plat_proc_result_release(&res);
    return rc;
}

/* ---- raw device I/O ----------------------------------------------------------------------- */

static int device_size(int fd, const struct stat *st, long long *size)
{
    if (S_ISREG(st->st_mode)) {
        *size = (long long)st->st_size;
        return 0;
    }
    if (S_ISBLK(st->st_mode)) {
        unsigned long long b = 0;
        if (ioctl(fd, BLKGETSIZE64, &b) != 0)
            return plat_err_from_errno(errno);
        if (b > (unsigned long long)LLONG_MAX)
            return WARD_ETOOBIG;
        *size = (long long)b;
        return 0;
    }
    return WARD_EINVAL;
}

static int pwrite_all(int fd, const unsigned char *buf, size_t n, long long off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, buf, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return plat_err_from_errno(errno);
        }
        if (w == 0)
            return WARD_ENOSPC;
        buf += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

static int pread_all(int fd, unsigned char *buf, size_t n, long long off)
{
    while (n > 0) {
        ssize_t r = pread(fd, buf, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return plat_err_from_errno(errno);
        }
        if (r == 0)
            return WARD_EIO;
        buf += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

/* Random bytes over [0, n) with the SHA-256 of every chunk kept in sums, fsync, the cached
 * pages dropped, and the area read back and compared. *written counts what was written. */
static int overwrite_header(int fd, int is_blk, long long n, long long *written, int *same,
                            char *why, size_t whylen)
{
    size_t nchunks = (size_t)((n + DISK_CHUNK - 1) / DISK_CHUNK);
    unsigned char *buf = ward_malloc(DISK_CHUNK);
    uint8_t(*sums)[WARD_SHA256_LEN] = ward_calloc(nchunks ? nchunks : 1, sizeof(*sums));
    int rc = 0;

    *written = 0;
    *same = 0;
    if (!buf || !sums) {
        rc = WARD_ENOMEM;
        set_why(why, whylen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nchunks; i++) {
        long long off = (long long)i * DISK_CHUNK;
        size_t k = (size_t)(n - off < DISK_CHUNK ? n - off : DISK_CHUNK);
        rc = ward_random_bytes(buf, k);
        if (rc == 0)
            rc = ward_sha256(buf, k, sums[i]);
        if (rc != 0) {
            set_why(why, whylen, "no random bytes: %s", ward_err_name(rc));
            goto out;
        }
        rc = pwrite_all(fd, buf, k, off);
        if (rc != 0) {
            set_why(why, whylen, "writing the header area at %lld: %s", off, ward_err_name(rc));
            goto out;
        }
        *written += (long long)k;
    }
    if (fsync(fd) != 0) {
        rc = plat_err_from_errno(errno);
        set_why(why, whylen, "fsync after overwriting the header: %s", strerror(errno));
        goto out;
    }
    /* read back from the disk, not from the page cache the writes just filled */
    if (is_blk)
        (void)ioctl(fd, BLKFLSBUF, 0);
    (void)posix_fadvise(fd, 0, (off_t)n, POSIX_FADV_DONTNEED);
    *same = 1;
    for (size_t i = 0; i < nchunks; i++) {
        long long off = (long long)i * DISK_CHUNK;
        size_t k = (size_t)(n - off < DISK_CHUNK ? n - off : DISK_CHUNK);
        uint8_t sum[WARD_SHA256_LEN];
        rc = pread_all(fd, buf, k, off);
        if (rc != 0) {
            set_why(why, whylen, "reading the header area back at %lld: %s", off,
                    ward_err_name(rc));
            *same = 0;
            goto out;
        }
        if (ward_sha256(buf, k, sum) != 0 || memcmp(sum, sums[i], sizeof(sum)) != 0) {
            *same = 0;
            break;
        }
    }
out:
    ward_free(sums);
    ward_free(buf);
    return rc;
}

int plat_disk_crypto_erase(const char *device, struct plat_disk_erase_report *rep, char *why,
                           size_t whylen)
{
    struct plat_luks_info before, after;
    struct plat_proc_result res;
    struct stat st;
    long long size = 0, n;
    const char *cs;
    char line[160];
    int fd = -1, rc, same = 0, dump_ok;

    set_why(why, whylen, "%s", "");
    if (!rep) {
        set_why(why, whylen, "no report given");
        return WARD_EINVAL;
    }
    memset(rep, 0, sizeof(*rep));
    rc = check_device_arg(device, why, whylen);
    if (rc != 0)
        return rc;

    /* opened first, so a device we may not write fails before anything is erased; not
     * O_EXCL: the running system's root mapping holds the device */
    fd = open(device, O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = plat_err_from_errno(errno);
        set_why(why, whylen, "cannot open %s: %s", device, strerror(errno));
        return rc;
    }
    if (fstat(fd, &st) != 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
        set_why(why, whylen, "%s is neither a block device nor a regular file", device);
        rc = WARD_EINVAL;
        goto out;
    }
    rc = device_size(fd, &st, &size);
    if (rc != 0) {
        set_why(why, whylen, "cannot get the size of %s: %s", device, ward_err_name(rc));
        goto out;
    }

    rc = plat_disk_luks_inspect(device, &before, why, whylen);
    if (rc != 0)
        goto out;
    if (before.header_bytes <= 0) {
        set_why(why, whylen,
                "LUKS%d header size of %s unknown (payload offset 0: detached "
                "header?); nothing erased",
                before.version, device);
        rc = WARD_ENOTSUP;
        goto out;
    }
    rep->slots_before = before.keyslots;
    n = before.header_bytes;
    if (n > size) {
        WARD_WARN("%s: header area %lld bytes exceeds the device (%lld bytes)", device, n, size);
        n = size;
    }

    cs = cryptsetup_path();
    if (!cs) {
        set_why(why, whylen, "cryptsetup not found");
        rc = WARD_ENOENT;
        goto out;
    }
    {
        const char *argv[] = {cs, "erase", "--batch-mode", device, NULL};
        rc = run_cryptsetup(argv, &res, why, whylen);
    }
    if (rc == 0) {
        rep->cryptsetup_erased = !res.timed_out && res.exit_status == 0 && res.term_signal == 0;
        if (!rep->cryptsetup_erased) {
            first_line(&res, line, sizeof(line));
            WARD_WARN("cryptsetup erase %s failed (exit %lld: %s); overwriting the header "
                      "area anyway",
                      device, (long long)res.exit_status, line);
        }
        plat_proc_result_release(&res);
    } else {
        /* the overwrite below destroys the key slots just as well */
        WARD_LOG_WARN_ERR(rc,
                          "cannot run cryptsetup erase on %s; overwriting the header area "
                          "anyway",
                          device);
    }

    rc = overwrite_header(fd, S_ISBLK(st.st_mode), n, &rep->header_bytes_overwritten, &same, why,
                          whylen);
    if (rc != 0)
        goto out;
    close(fd);
    fd = -1;

    rc = plat_disk_luks_inspect(device, &after, line, sizeof(line));
    dump_ok = rc == WARD_EPARSE || (rc == 0 && after.keyslots == 0);
    rep->verified = same && dump_ok;
    if (!rep->verified) {
        if (!same)
            set_why(why, whylen,
                    "the header area of %s read back differs from what was "
                    "written",
                    device);
        else if (rc == 0)
            set_why(why, whylen, "%s still shows %d key slot(s) after the erase", device,
                    after.keyslots);
        else
            set_why(why, whylen, "cannot re-inspect %s after the erase: %s", device, line);
        rc = WARD_EVERIFY;
        goto out;
    }
    set_why(why, whylen, "%s", "");
    WARD_INFO("crypto-erased %s: %d key slot(s), %lld header bytes overwritten", device,
              rep->slots_before, rep->header_bytes_overwritten);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- whole-device overwrite --------------------------------------------------------------- */

/* Is `device` (stat'ed as *dst) a source in ROOT/proc/self/mounts? */
static int check_mounted(const char *root, const char *device, const struct stat *dst, char *why,
                         size_t whylen)
{
    char *data = NULL, *real_dev = NULL;
    const char *line, *f[8];
    size_t len = 0, pos = 0, llen, fl[8];
    int rc;

    rc = plat_fs_read_file(root, "/proc/self/mounts", PLAT_FS_NTS, DISK_PROC_MAX, &data, &len);
    if (rc != 0) {
        set_why(why, whylen, "cannot read /proc/self/mounts to check %s is not mounted: %s", device,
                ward_err_name(rc));
        return rc;
    }
    real_dev = realpath(device, NULL);
    rc = 0;
    while (rc == 0 && next_line(data, len, &pos, &line, &llen)) {
        char src[PLAT_FS_MAX_PATH], mp[PLAT_FS_MAX_PATH];
        struct stat sst;
        int hit = 0;
        if (split_fields(line, llen, f, fl, 8) < 2 || unescape(f[0], fl[0], src, sizeof(src)) ||
            unescape(f[1], fl[1], mp, sizeof(mp)))
            continue;
        if (strcmp(src, device) == 0) {
            hit = 1;
        } else if (src[0] == '/') {
            char *real_src = real_dev ? realpath(src, NULL) : NULL;
            if (real_src && strcmp(real_src, real_dev) == 0)
                hit = 1;
            free(real_src);
            if (!hit && S_ISBLK(dst->st_mode) && stat(src, &sst) == 0 && S_ISBLK(sst.st_mode) &&
                sst.st_rdev == dst->st_rdev)
                hit = 1;
        }
        if (hit) {
            set_why(why, whylen, "%s is mounted at %s", device, mp);
            rc = WARD_EBUSY;
        }
    }
    free(real_dev);
    ward_free(data);
    return rc;
}

int plat_disk_overwrite(const char *root, const char *device, plat_disk_progress_fn progress,
                        void *ctx, char *why, size_t whylen)
{
    struct stat st, fst;
    unsigned char *zero = NULL;
    long long size = 0, done = 0, next_report = DISK_PROGRESS_STEP;
    int fd = -1, rc;

    set_why(why, whylen, "%s", "");
    if (!device || device[0] != '/') {
        set_why(why, whylen, "device path must be absolute: %s", device ? device : "(null)");
        return WARD_EINVAL;
    }
    if (stat(device, &st) != 0) {
        rc = plat_err_from_errno(errno);
        set_why(why, whylen, "%s: %s", device, strerror(errno));
        return rc;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        set_why(why, whylen, "%s is neither a block device nor a regular file", device);
        return WARD_EINVAL;
    }
    rc = check_mounted(root, device, &st, why, whylen);
    if (rc != 0)
        return rc;
    /* O_EXCL on a block device: the kernel refuses it while a filesystem, a partition or a
     * device-mapper table holds the device (it means nothing for regular files) */
    fd = open(device, O_WRONLY | O_CLOEXEC | O_NOCTTY | (S_ISBLK(st.st_mode) ? O_EXCL : 0));
    if (fd < 0) {
        rc = plat_err_from_errno(errno);
        set_why(why, whylen, "cannot open %s: %s", device,
                errno == EBUSY ? "in use (mounted, or held by a partition or device-mapper)"
                               : strerror(errno));
        return rc;
    }
    if (fstat(fd, &fst) != 0 || (fst.st_mode & S_IFMT) != (st.st_mode & S_IFMT) ||
        fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
        set_why(why, whylen, "%s changed while being opened", device);
        rc = WARD_EBUSY;
        goto out;
    }
    rc = device_size(fd, &fst, &size);
    if (rc != 0) {
        set_why(why, whylen, "cannot get the size of %s: %s", device, ward_err_name(rc));
        goto out;
    }
    zero = ward_calloc(1, DISK_CHUNK);
    if (!zero) {
        set_why(why, whylen, "out of memory");
        rc = WARD_ENOMEM;
        goto out;
    }
    while (done < size) {
        size_t k = (size_t)(size - done < DISK_CHUNK ? size - done : DISK_CHUNK);
        rc = pwrite_all(fd, zero, k, done);
        if (rc != 0) {
            set_why(why, whylen, "writing %s at %lld: %s", device, done, ward_err_name(rc));
            goto out;
        }
        done += (long long)k;
        if (progress && done >= next_report && done < size) {
            progress(done, size, ctx);
            next_report += DISK_PROGRESS_STEP;
        }
    }
    if (fsync(fd) != 0) {
        rc = plat_err_from_errno(errno);
        set_why(why, whylen, "fsync %s: %s", device, strerror(errno));
        goto out;
    }
    if (progress)
        progress(done, size, ctx);
    WARD_INFO("overwrote %s with zeros (%lld bytes)", device, size);
    rc = 0;
out:
    ward_free(zero);
    if (fd >= 0)
        close(fd);
    return rc;
}
