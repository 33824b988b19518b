/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsers for the system files the Linux collectors read (dpkg status, /proc, /etc, utmp,
 * package metadata). Portable C over (buf, len): no allocation, no NUL terminator needed,
 * every loop bounded by len and by the row caps the caller passes. Kept in one file so a
 * fuzz target links exactly the code it exercises.
 */
#include "inventory/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/error.h"

/* ---- helpers ---- */

struct lines {
    const char *p, *end;
};

static void lines_init(struct lines *l, const char *buf, size_t len)
{
    l->p = buf;
    l->end = buf ? buf + len : buf;
}

static int next_line(struct lines *l, struct inv_span *out)
{
    const char *nl;
    if (!l->p || l->p >= l->end)
        return 0;
    nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
    out->p = l->p;
    out->n = nl ? (size_t)(nl - l->p) : (size_t)(l->end - l->p);
    l->p = nl ? nl + 1 : l->end;
    return 1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

struct inv_span inv_trim(const char *p, size_t n)
{
    struct inv_span s = {p, n};
    while (s.n && is_blank(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && (is_blank(s.p[s.n - 1]) || s.p[s.n - 1] == '\n'))
        s.n--;
    return s;
}

int inv_span_eq(struct inv_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int span_ieq(struct inv_span s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i]))
            return 0;
    return 1;
}

int inv_parse_ll(const char *p, size_t n, long long *out)
{
    struct inv_span s = inv_trim(p, n);
    unsigned long long v = 0;
    size_t i = 0;
    int neg = 0;
    if (s.n && (s.p[0] == '-' || s.p[0] == '+')) {
        neg = s.p[0] == '-';
        i = 1;
    }
    if (i >= s.n)
        return WARD_EPARSE;
    for (; i < s.n; i++) {
        unsigned d;
        if (s.p[i] < '0' || s.p[i] > '9')
            return WARD_EPARSE;
        d = (unsigned)(s.p[i] - '0');
        if (v > (9223372036854775807ULL - d) / 10)
            return WARD_EPARSE;
        v = v * 10 + d;
    }
    *out = neg ? -(long long)v : (long long)v;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)lower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Splits the next whitespace-separated word off *s. */
static int next_word(struct inv_span *s, struct inv_span *w)
{
    while (s->n && is_blank(s->p[0])) {
        s->p++;
        s->n--;
    }
    if (!s->n)
        return 0;
    w->p = s->p;
    w->n = 0;
    while (w->n < s->n && !is_blank(s->p[w->n]))
        w->n++;
    s->p += w->n;
    s->n -= w->n;
    return 1;
}

static int parse_hex_u64(struct inv_span w, unsigned long long *out)
{
    unsigned long long v = 0;
    if (w.n == 0 || w.n > 16)
        return WARD_EPARSE;
    for (size_t i = 0; i < w.n; i++) {
        int h = hexval(w.p[i]);
        if (h < 0)
            return WARD_EPARSE;
        v = v << 4 | (unsigned)h;
    }
    *out = v;
    return 0;
}

static int parse_hex_bytes(struct inv_span w, uint8_t *out, size_t n)
{
    if (w.n != n * 2)
        return WARD_EPARSE;
    for (size_t i = 0; i < n; i++) {
        int a = hexval(w.p[2 * i]), b = hexval(w.p[2 * i + 1]);
        if (a < 0 || b < 0)
            return WARD_EPARSE;
        out[i] = (uint8_t)(a << 4 | b);
    }
    return 0;
}

static int copy_word(struct inv_span w, char *dst, size_t size)
{
    if (w.n == 0 || w.n >= size)
        return WARD_EPARSE;
    memcpy(dst, w.p, w.n);
    dst[w.n] = '\0';
    return 0;
}

static int report_cap(struct inv_parse_stats *st, size_t max_rows)
{
    return st->rows >= max_rows ? WARD_ETOOBIG : 0;
}

/* ---- dpkg status ---- */

static int dpkg_name_ok(struct inv_span s)
{
    if (s.n == 0 || s.n > 256)
        return 0;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.' || c == '_'))
            return 0;
    }
    return 1;
}

static int dpkg_state_ok(struct inv_span w)
{
    static const char *const states[] = {
        "not-installed",    "config-files",     "half-installed", "unpacked", "half-configured",
        "triggers-awaited", "triggers-pending", "installed",      NULL,
    };
    for (size_t i = 0; states[i]; i++)
        if (inv_span_eq(w, states[i]))
            return 1;
    return 0;
}

static int dpkg_finish(struct inv_dpkg_pkg *pk, int bad, size_t max_rows, inv_dpkg_cb cb, void *ctx,
                       struct inv_parse_stats *st)
{
    struct inv_span rest = pk->status, w1, w2, w3, extra;
    if (bad || !dpkg_name_ok(pk->name) || !next_word(&rest, &w1) || !next_word(&rest, &w2) ||
        !next_word(&rest, &w3) || next_word(&rest, &extra)) {
        st->bad++;
        return 0;
    }
    (void)w1;
    (void)w2;
    if (!dpkg_state_ok(w3)) { /* a truncated file ends in "install ok inst" */
        st->bad++;
        return 0;
    }
    pk->state = w3;
    if (inv_span_eq(w3, "not-installed"))
        return 0;
    if (report_cap(st, max_rows))
        return WARD_ETOOBIG;
    st->rows++;
    return cb(pk, ctx);
}

int inv_dpkg_parse(const char *buf, size_t len, size_t max_rows, inv_dpkg_cb cb, void *ctx,
                   struct inv_parse_stats *st)
{
    struct inv_parse_stats local = {0, 0};
    struct inv_dpkg_pkg pk;
    struct lines l;
    struct inv_span line;
    int in = 0, bad = 0, rc;

    if (!st)
        st = &local;
    st->rows = st->bad = 0;
    if (!cb || (!buf && len))
        return WARD_EINVAL;
    lines_init(&l, buf, len);
    memset(&pk, 0, sizeof(pk));
    pk.installed_size_kib = -1;
    for (;;) {
        int more = next_line(&l, &line);
        struct inv_span t = more ? inv_trim(line.p, line.n) : (struct inv_span){NULL, 0};
        const char *colon;
        struct inv_span field, value;

        if (!more || t.n == 0) { /* end of a stanza */
            if (in) {
                rc = dpkg_finish(&pk, bad, max_rows, cb, ctx, st);
                if (rc)
                    return rc;
            }
            if (!more)
                return 0;
            in = bad = 0;
            memset(&pk, 0, sizeof(pk));
            pk.installed_size_kib = -1;
            continue;
        }
        in = 1;
        if (line.n > INV_LINE_MAX) {
            bad = 1;
            continue;
        }
        if (is_blank(line.p[0]))
            continue; /* continuation of a multi-line field */
        /* Field names are short: look for the colon in the first 64 bytes only, so a huge
         * line of junk costs nothing more. */
        colon = memchr(line.p, ':', line.n < 64 ? line.n : 64);
        if (!colon) {
            bad = 1;
            continue;
        }
        field.p = line.p;
        field.n = (size_t)(colon - line.p);
        value = inv_trim(colon + 1, line.n - field.n - 1);
        switch (line.p[0]) {
        case 'P':
        case 'p':
            if (span_ieq(field, "Package"))
                pk.name = value;
            break;
        case 'S':
        case 's':
            if (span_ieq(field, "Status"))
                pk.status = value;
            else if (span_ieq(field, "Source")) {
                struct inv_span v = value, w;
                if (next_word(&v, &w))
                    pk.source = w;
            }
            break;
        case 'A':
        case 'a':
            if (span_ieq(field, "Architecture"))
                pk.arch = value;
            break;
        case 'V':
        case 'v':
            if (span_ieq(field, "Version"))
                pk.version = value;
            break;
        case 'I':
        case 'i':
            if (span_ieq(field, "Installed-Size")) {
                long long kib;
                if (inv_parse_ll(value.p, value.n, &kib) == 0 && kib >= 0)
                    pk.installed_size_kib = kib;
            }
            break;
        default:
            break;
        }
    }
}

/* ---- /proc/cpuinfo ---- */

#define CPU_MAX_IDS 4096

struct cpu_pair {
    int pkg, core;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct cpu_pair *x = a, *y = b;
    if (x->pkg != y->pkg)
        return (x->pkg > y->pkg) - (x->pkg < y->pkg);
    return (x->core > y->core) - (x->core < y->core);
}

static void copy_value(char *dst, size_t size, struct inv_span v)
{
    if (v.n >= size)
        v.n = size - 1;
    memcpy(dst, v.p, v.n);
    dst[v.n] = '\0';
}

static int small_int(struct inv_span v, int *out)
{
    long long x;
    if (inv_parse_ll(v.p, v.n, &x) != 0 || x < 0 || x > 1000000000)
        return WARD_EPARSE;
    *out = (int)x;
    return 0;
}

int inv_cpuinfo_parse(const char *buf, size_t len, struct inv_cpuinfo *out)
{
    struct cpu_pair pairs[CPU_MAX_IDS];
    size_t np = 0;
    int cur_pkg = -1, cur_core = -1, have_cpu = 0;
    struct lines l;
    struct inv_span line;

    if (!out || (!buf && len))
        return WARD_EINVAL;
    memset(out, 0, sizeof(*out));
    out->family = out->model_id = out->stepping = -1;
    lines_init(&l, buf, len);
    for (;;) {
        int more = next_line(&l, &line);
        const char *colon;
        struct inv_span key, val;
        if (!more || inv_trim(line.p, line.n).n == 0) {
            if (have_cpu && cur_pkg >= 0 && cur_core >= 0 && np < CPU_MAX_IDS) {
                pairs[np].pkg = cur_pkg;
                pairs[np].core = cur_core;
                np++;
            }
            have_cpu = 0;
            cur_pkg = cur_core = -1;
            if (!more)
                break;
            continue;
        }
        if (line.n > INV_LINE_MAX)
            continue;
        colon = memchr(line.p, ':', line.n);
        if (!colon)
            continue;
        key = inv_trim(line.p, (size_t)(colon - line.p));
        val = inv_trim(colon + 1, line.n - (size_t)(colon - line.p) - 1);
        if (span_ieq(key, "processor")) {
            long long n;
            /* Old ARM kernels print "Processor : ARMv7 ..." as the model. */
            if (inv_parse_ll(val.p, val.n, &n) == 0) {
                out->threads++;
                have_cpu = 1;
            } else if (!out->model[0]) {
                copy_value(out->model, sizeof(out->model), val);
            }
        } else if (inv_span_eq(key, "vendor_id") && !out->vendor[0]) {
            copy_value(out->vendor, sizeof(out->vendor), val);
        } else if (inv_span_eq(key, "CPU implementer") && !out->vendor[0]) {
            copy_value(out->vendor, sizeof(out->vendor), val);
        } else if ((inv_span_eq(key, "model name") || inv_span_eq(key, "cpu model")) &&
                   !out->model[0]) {
            copy_value(out->model, sizeof(out->model), val);
        } else if (inv_span_eq(key, "cpu family") && out->family < 0) {
            small_int(val, &out->family);
        } else if (inv_span_eq(key, "model") && out->model_id < 0) {
            small_int(val, &out->model_id);
        } else if (inv_span_eq(key, "stepping") && out->stepping < 0) {
            small_int(val, &out->stepping);
        } else if (inv_span_eq(key, "physical id")) {
            small_int(val, &cur_pkg);
        } else if (inv_span_eq(key, "core id")) {
            small_int(val, &cur_core);
        } else if (inv_span_eq(key, "cpu MHz")) {
            long long mhz;
            struct inv_span ip = val;
            const char *dot = memchr(val.p, '.', val.n);
            if (dot)
                ip.n = (size_t)(dot - val.p);
            if (inv_parse_ll(ip.p, ip.n, &mhz) == 0 && mhz > out->max_mhz && mhz < 1000000)
                out->max_mhz = (int)mhz;
        } else if (inv_span_eq(key, "flags") || inv_span_eq(key, "Features")) {
            struct inv_span rest = val, w;
            while (next_word(&rest, &w)) {
                if (inv_span_eq(w, "vmx"))
                    out->vmx = 1;
                else if (inv_span_eq(w, "svm"))
                    out->svm = 1;
                else if (inv_span_eq(w, "hypervisor"))
                    out->hypervisor = 1;
            }
        }
    }
    if (np) {
        size_t cores = 0, sockets = 0;
        qsort(pairs, np, sizeof(pairs[0]), cmp_pair);
        for (size_t i = 0; i < np; i++) {
            if (i == 0 || pairs[i].pkg != pairs[i - 1].pkg)
                sockets++;
            if (i == 0 || cmp_pair(&pairs[i], &pairs[i - 1]) != 0)
                cores++;
        }
        out->sockets = (int)sockets;
        out->cores = (int)cores;
    }
    return 0;
}

/* ---- /proc/meminfo ---- */

int inv_meminfo_parse(const char *buf, size_t len, struct inv_meminfo *out)
{
    static const struct {
        const char *key;
        size_t off;
    } keys[] = {
        {"MemTotal", offsetof(struct inv_meminfo, total)},
        {"MemAvailable", offsetof(struct inv_meminfo, available)},
        {"SwapTotal", offsetof(struct inv_meminfo, swap_total)},
        {"SwapFree", offsetof(struct inv_meminfo, swap_free)},
    };
    struct lines l;
    struct inv_span line;
    if (!out || (!buf && len))
        return WARD_EINVAL;
    out->total = out->available = out->swap_total = out->swap_free = -1;
    lines_init(&l, buf, len);
    while (next_line(&l, &line)) {
        const char *colon = memchr(line.p, ':', line.n < 64 ? line.n : 64);
        struct inv_span key, rest, num, unit;
        long long v;
        if (!colon)
            continue;
        key.p = line.p;
        key.n = (size_t)(colon - line.p);
        rest = inv_trim(colon + 1, line.n - key.n - 1);
        if (!next_word(&rest, &num) || inv_parse_ll(num.p, num.n, &v) != 0 || v < 0)
            continue;
        if (next_word(&rest, &unit)) {
            if (!span_ieq(unit, "kB") || v > (long long)(9223372036854775807LL / 1024))
                continue;
            v *= 1024;
        }
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (inv_span_eq(key, keys[i].key))
                memcpy((char *)out + keys[i].off, &v, sizeof(v));
    }
    return 0;
}

/* ---- /proc/self/mountinfo ---- */

/* Copies a mountinfo field decoding \ooo escapes; WARD_EPARSE when it does not fit. */
static int unescape(struct inv_span w, char *dst, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < w.n; i++) {
        char c = w.p[i];
        if (c == '\\' && i + 3 < w.n && w.p[i + 1] >= '0' && w.p[i + 1] <= '3' &&
            w.p[i + 2] >= '0' && w.p[i + 2] <= '7' && w.p[i + 3] >= '0' && w.p[i + 3] <= '7') {
            c = (char)((w.p[i + 1] - '0') * 64 + (w.p[i + 2] - '0') * 8 + (w.p[i + 3] - '0'));
            i += 3;
        }
        if (o + 1 >= size)
            return WARD_EPARSE;
        dst[o++] = c;
    }
    if (size == 0)
        return WARD_EPARSE;
    dst[o] = '\0';
    return 0;
}

static int has_option(struct inv_span opts, const char *opt)
{
    size_t n = strlen(opt), i = 0;
    while (i <= opts.n) {
        size_t j = i;
        while (j < opts.n && opts.p[j] != ',')
            j++;
        if (j - i == n && memcmp(opts.p + i, opt, n) == 0)
            return 1;
        i = j + 1;
    }
    return 0;
}

static int parse_mount_line(struct inv_span line, struct inv_mount *m)
{
    struct inv_span rest = line, w, id, parent, dev, root, mp, opts, fstype, source;
    const char *colon;
    long long maj, min;
    (void)root;
    if (!next_word(&rest, &id) || !next_word(&rest, &parent) || !next_word(&rest, &dev) ||
        !next_word(&rest, &root) || !next_word(&rest, &mp) || !next_word(&rest, &opts))
        return WARD_EPARSE;
    for (;;) { /* optional fields up to the "-" separator */
        if (!next_word(&rest, &w))
            return WARD_EPARSE;
        if (inv_span_eq(w, "-"))
            break;
    }
    if (!next_word(&rest, &fstype) || !next_word(&rest, &source))
        return WARD_EPARSE;
    colon = memchr(dev.p, ':', dev.n);
    if (!colon || inv_parse_ll(dev.p, (size_t)(colon - dev.p), &maj) != 0 ||
        inv_parse_ll(colon + 1, dev.n - (size_t)(colon - dev.p) - 1, &min) != 0 || maj < 0 ||
        min < 0 || maj > 0xfffff || min > 0xfffff)
        return WARD_EPARSE;
    m->major = (unsigned)maj;
    m->minor = (unsigned)min;
    if (unescape(mp, m->mountpoint, sizeof(m->mountpoint)) != 0 ||
        unescape(fstype, m->fstype, sizeof(m->fstype)) != 0 ||
        unescape(source, m->source, sizeof(m->source)) != 0 || m->mountpoint[0] != '/')
        return WARD_EPARSE;
    m->read_only = has_option(opts, "ro");
    return 0;
}

int inv_mountinfo_parse(const char *buf, size_t len, size_t max_rows, inv_mount_cb cb, void *ctx,
                        struct inv_parse_stats *st)
{
    struct inv_parse_stats local = {0, 0};
    struct inv_mount m;
    struct lines l;
    struct inv_span line;
    if (!st)
        st = &local;
    st->rows = st->bad = 0;
    if (!cb || (!buf && len))
        return WARD_EINVAL;
    lines_init(&l, buf, len);
    while (next_line(&l, &line)) {
        int rc;
        if (inv_trim(line.p, line.n).n == 0)
            continue;
        if (line.n > INV_LINE_MAX || parse_mount_line(line, &m) != 0) {
            st->bad++;
            continue;
        }
        if (report_cap(st, max_rows))
            return WARD_ETOOBIG;
        st->rows++;
        rc = cb(&m, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- /proc/net ---- */

int inv_route4_parse(const char *buf, size_t len, size_t max_rows, inv_route4_cb cb, void *ctx,
                     struct inv_parse_stats *st)
{
    struct inv_parse_stats local = {0, 0};
    struct lines l;
    struct inv_span line;
    int first = 1;
    if (!st)
        st = &local;
    st->rows = st->bad = 0;
    if (!cb || (!buf && len))
        return WARD_EINVAL;
    lines_init(&l, buf, len);
    while (next_line(&l, &line)) {
        struct inv_span rest = line, f[11];
        struct inv_route4 r;
        unsigned long long v[4];
        long long metric;
        int n = 0, rc;
        if (first) { /* header */
            first = 0;
            continue;
        }
        if (inv_trim(line.p, line.n).n == 0)
            continue;
        while (n < 11 && next_word(&rest, &f[n]))
            n++;
        memset(&r, 0, sizeof(r));
        if (n < 8 || line.n > 1024 || copy_word(f[0], r.iface, sizeof(r.iface)) != 0 ||
            parse_hex_u64(f[1], &v[0]) != 0 || parse_hex_u64(f[2], &v[1]) != 0 ||
            parse_hex_u64(f[3], &v[2]) != 0 || parse_hex_u64(f[7], &v[3]) != 0 ||
            inv_parse_ll(f[6].p, f[6].n, &metric) != 0 || v[0] > 0xffffffffu ||
            v[1] > 0xffffffffu || v[3] > 0xffffffffu || metric < 0 || metric > 0x7fffffff) {
            st->bad++;
            continue;
        }
        r.dest = (uint32_t)v[0];
        r.gateway = (uint32_t)v[1];
        r.flags = (unsigned)(v[2] & 0xffff);
        r.mask = (uint32_t)v[3];
        r.metric = (long)metric;
        if (report_cap(st, max_rows))
            return WARD_ETOOBIG;
        st->rows++;
        rc = cb(&r, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

int inv_route6_parse(const char *buf, size_t len, size_t max_rows, inv_route6_cb cb, void *ctx,
                     struct inv_parse_stats *st)
{
    struct inv_parse_stats local = {0, 0};
    struct lines l;
    struct inv_span line;
    if (!st)
        st = &local;
    st->rows = st->bad = 0;
    if (!cb || (!buf && len))
        return WARD_EINVAL;
    lines_init(&l, buf, len);
    while (next_line(&l, &line)) {
        struct inv_span rest = line, f[10];
        struct inv_route6 r;
        unsigned long long plen, metric, flags;
        int n = 0, rc;
        if (inv_trim(line.p, line.n).n == 0)
            continue;
        while (n < 10 && next_word(&rest, &f[n]))
            n++;
        memset(&r, 0, sizeof(r));
        if (n < 10 || line.n > 1024 || parse_hex_bytes(f[0], r.dest, 16) != 0 ||
            parse_hex_u64(f[1], &plen) != 0 || plen > 128 ||
            parse_hex_bytes(f[4], r.next_hop, 16) != 0 || parse_hex_u64(f[5], &metric) != 0 ||
            parse_hex_u64(f[8], &flags) != 0 || copy_word(f[9], r.iface, sizeof(r.iface)) != 0) {
            st->bad++;
            continue;
        }
        r.dest_plen = (unsigned)plen;
        r.metric = (unsigned long)(metric & 0xffffffffu);
        r.flags = (unsigned long)(flags & 0xffffffffu);
        if (report_cap(st, max_rows))
            return WARD_ETOOBIG;
        st->rows++;
        rc = cb(&r, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

int inv_if_inet6_parse(const char *buf, size_t len, size_t max_rows, inv_inet6_cb cb, void *ctx,
                       struct inv_parse_stats *st)
{
    struct inv_parse_stats local = {0, 0};
    struct lines l;
    struct inv_span line;
    if (!st)
        st = &local;
    st->rows = st->bad = 0;
    if (!cb || (!buf && len))
        return WARD_EINVAL;
    lines_init(&l, buf, len);
    while (next_line(&l, &line)) {
        struct inv_span rest = line, f[6];
        struct inv_inet6 a;
        unsigned long long v[4];
        int n = 0, rc;
        if (inv_trim(line.p, line.n).n == 0)
            continue;
        while (n < 6 && next_word(&rest, &f[n]))
            n++;
        memset(&a, 0, sizeof(a));
        if (n < 6 || line.n > 1024 || parse_hex_bytes(f[0], a.addr, 16) != 0 ||
            parse_hex_u64(f[1], &v[0]) != 0 || parse_hex_u64(f[2], &v[1]) != 0 ||
            parse_hex_u64(f[3], &v[2]) != 0 || parse_hex_u64(f[4], &v[3]) != 0 || v[1] > 128 ||
            v[0] > 0xffffffffu || copy_word(f[5], a.iface, sizeof(a.iface)) != 0) {
            st->bad++;
            continue;
        }
        a.ifindex = (unsigned)v[0];
        a.plen = (unsigned)v[1];
        a.scope = (unsigned)(v[2] & 0xff);
        a.flags = (unsigned)(v[3] & 0xff);
        if (report_cap(st, max_rows))
            return WARD_ETOOBIG;
        st->rows++;
        rc = cb(&a, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_dotted(struct inv_span w, uint32_t *out)
{
    uint32_t v = 0;
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        unsigned x = 0;
        size_t digits = 0;
        while (i < w.n && w.p[i] >= '0' && w.p[i] <= '9' && digits < 4) {
            x = x * 10 + (unsigned)(w.p[i] - '0');
            i++;
            digits++;
        }
        if (digits == 0 || digits > 3 || x > 255)
            return WARD_EPARSE;
        v = v << 8 | x;
        if (part < 3) {
            if (i >= w.n || w.p[i] != '.')
                return WARD_EPARSE;
            i++;
        }
    }
    if (i != w.n)
        return WARD_EPARSE;
    *out = v;
    return 0;
}

int inv_fib_trie_parse(const char *buf, size_t len, size_t max_rows, inv_addr4_cb cb, void *ctx,
                       struct inv_parse_stats *st)
{
    struct inv_parse_stats local = {0, 0};
    struct lines l;
    struct inv_span line;
    uint32_t last = 0;
    int have = 0;
    if (!st)
        st = &local;
    st->rows = st->bad = 0;
    if (!cb || (!buf && len))
        return WARD_EINVAL;
    lines_init(&l, buf, len);
    while (next_line(&l, &line)) {
        struct inv_span t = inv_trim(line.p, line.n);
        if (t.n > 256)
            continue;
        if (t.n > 4 && memcmp(t.p, "|-- ", 4) == 0) {
            struct inv_span a = inv_trim(t.p + 4, t.n - 4);
            have = parse_dotted(a, &last) == 0;
            if (!have)
                st->bad++;
        } else if (have && inv_span_eq(t, "/32 host LOCAL")) {
            int rc;
            if (report_cap(st, max_rows))
                return WARD_ETOOBIG;
            st->rows++;
            rc = cb(last, ctx);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---- /etc ---- */

int inv_resolv_parse(const char *buf, size_t len, size_t max_rows, inv_str_cb cb, void *ctx,
                     struct inv_parse_stats *st)
{
    struct inv_parse_stats local = {0, 0};
    struct lines l;
    struct inv_span line;
    if (!st)
        st = &local;
    st->rows = st->bad = 0;
    if (!cb || (!buf && len))
        return WARD_EINVAL;
    lines_init(&l, buf, len);
    while (next_line(&l, &line)) {
        struct inv_span rest = line, w, addr;
        int rc;
        if (line.n > 1024 || !next_word(&rest, &w) || !inv_span_eq(w, "nameserver"))
            continue;
        if (!next_word(&rest, &addr) || addr.n > 64) {
            st->bad++;
            continue;
        }
        if (report_cap(st, max_rows))
            return WARD_ETOOBIG;
        st->rows++;
        rc = cb(addr, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

int inv_login_defs_parse(const char *buf, size_t len, long *uid_min, long *uid_max)
{
    struct lines l;
    struct inv_span line;
    if (!uid_min || !uid_max || (!buf && len))
        return WARD_EINVAL;
    lines_init(&l, buf, len);
    while (next_line(&l, &line)) {
        struct inv_span rest = line, k, v;
        long long x;
        if (line.n > 1024 || !next_word(&rest, &k) || !next_word(&rest, &v))
            continue;
        if (inv_parse_ll(v.p, v.n, &x) != 0 || x < 0 || x > 0x7fffffff)
            continue;
        if (inv_span_eq(k, "UID_MIN"))
            *uid_min = (long)x;
        else if (inv_span_eq(k, "UID_MAX"))
            *uid_max = (long)x;
    }
    return 0;
}

/* Splits a colon-separated line into exactly n fields. */
static int split_colons(struct inv_span line, struct inv_span *f, size_t n)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= line.n; i++) {
        if (i == line.n || line.p[i] == ':') {
            if (k == n)
                return WARD_EPARSE;
            f[k].p = line.p + start;
            f[k].n = i - start;
            k++;
            start = i + 1;
        }
    }
    return k == n ? 0 : WARD_EPARSE;
}

int inv_passwd_parse(const char *buf, size_t len, size_t max_rows, inv_passwd_cb cb, void *ctx,
                     struct inv_parse_stats *st)
{
    struct inv_parse_stats local = {0, 0};
    struct lines l;
    struct inv_span line;
    if (!st)
        st = &local;
    st->rows = st->bad = 0;
    if (!cb || (!buf && len))
        return WARD_EINVAL;
    lines_init(&l, buf, len);
    while (next_line(&l, &line)) {
        struct inv_span f[7];
        struct inv_passwd p;
        int rc;
        if (line.n && line.p[line.n - 1] == '\r')
            line.n--;
        if (line.n == 0 || line.p[0] == '#')
            continue;
        if (line.n > 4096 || split_colons(line, f, 7) != 0 || f[0].n == 0 ||
            inv_parse_ll(f[2].p, f[2].n, &p.uid) != 0 ||
            inv_parse_ll(f[3].p, f[3].n, &p.gid) != 0 || p.uid < 0 || p.gid < 0) {
            st->bad++;
            continue;
        }
        p.name = f[0];
        p.gecos = f[4];
        p.home = f[5];
        p.shell = f[6];
        if (report_cap(st, max_rows))
            return WARD_ETOOBIG;
        st->rows++;
        rc = cb(&p, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

int inv_group_parse(const char *buf, size_t len, size_t max_rows, inv_group_cb cb, void *ctx,
                    struct inv_parse_stats *st)
{
    struct inv_parse_stats local = {0, 0};
    struct lines l;
    struct inv_span line;
    if (!st)
        st = &local;
    st->rows = st->bad = 0;
    if (!cb || (!buf && len))
        return WARD_EINVAL;
    lines_init(&l, buf, len);
    while (next_line(&l, &line)) {
        struct inv_span f[4];
        int rc;
        if (line.n && line.p[line.n - 1] == '\r')
            line.n--;
        if (line.n == 0 || line.p[0] == '#')
            continue;
        if (line.n > INV_LINE_MAX || split_colons(line, f, 4) != 0 || f[0].n == 0) {
            st->bad++;
            continue;
        }
        if (report_cap(st, max_rows))
            return WARD_ETOOBIG;
        st->rows++;
        rc = cb(f[0], f[3], ctx);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- utmp ---- */

static void fixed_str(const char *p, size_t size, char *dst)
{
    size_t n = 0;
    while (n < size && p[n])
        n++;
    memcpy(dst, p, n);
    dst[n] = '\0';
}

int inv_utmp_parse(const char *buf, size_t len, size_t max_rows, inv_utmp_cb cb, void *ctx,
                   struct inv_parse_stats *st)
{
    struct inv_parse_stats local = {0, 0};
    size_t off;
    if (!st)
        st = &local;
    st->rows = st->bad = 0;
    if (!cb || (!buf && len))
        return WARD_EINVAL;
    for (off = 0; off + INV_UTMP_RECORD <= len; off += INV_UTMP_RECORD) {
        const char *r = buf + off;
        struct inv_utmp u;
        int16_t type;
        int32_t sec;
        int rc;
        memcpy(&type, r + 0, sizeof(type));
        memcpy(&u.pid, r + 4, sizeof(u.pid));
        fixed_str(r + 8, 32, u.line);
        fixed_str(r + 44, 32, u.user);
        fixed_str(r + 76, 256, u.host);
        memcpy(&sec, r + 340, sizeof(sec));
        u.type = type;
        u.tv_sec = sec;
        if (report_cap(st, max_rows))
            return WARD_ETOOBIG;
        st->rows++;
        rc = cb(&u, ctx);
        if (rc)
            return rc;
    }
    if (len % INV_UTMP_RECORD)
        st->bad++;
    return 0;
}

/* ---- KEY=VALUE, INI ---- */

static struct inv_span unquote(struct inv_span v)
{
    if (v.n >= 2 && (v.p[0] == '"' || v.p[0] == '\'') && v.p[v.n - 1] == v.p[0]) {
        v.p++;
        v.n -= 2;
    }
    return v;
}

int inv_kv_get(const char *buf, size_t len, const char *key, struct inv_span *out)
{
    size_t kn;
    struct lines l;
    struct inv_span line;
    if (!key || !out || (!buf && len))
        return WARD_EINVAL;
    kn = strlen(key);
    lines_init(&l, buf, len);
    while (next_line(&l, &line)) {
        if (line.n > INV_LINE_MAX || line.n <= kn || line.p[kn] != '=' ||
            memcmp(line.p, key, kn) != 0)
            continue;
        *out = unquote(inv_trim(line.p + kn + 1, line.n - kn - 1));
        return 0;
    }
    return WARD_ENOENT;
}

int inv_ini_get(const char *buf, size_t len, const char *group, const char *key,
                struct inv_span *out)
{
    struct lines l;
    struct inv_span line;
    int in = 0;
    if (!group || !key || !out || (!buf && len))
        return WARD_EINVAL;
    lines_init(&l, buf, len);
    while (next_line(&l, &line)) {
        struct inv_span t = inv_trim(line.p, line.n);
        const char *eq;
        if (t.n > INV_LINE_MAX || t.n == 0 || t.p[0] == '#' || t.p[0] == ';')
            continue;
        if (t.p[0] == '[') {
            in = t.n >= 2 && t.p[t.n - 1] == ']' &&
                 inv_span_eq((struct inv_span){t.p + 1, t.n - 2}, group);
            continue;
        }
        if (!in)
            continue;
        eq = memchr(t.p, '=', t.n);
        if (!eq || !inv_span_eq(inv_trim(t.p, (size_t)(eq - t.p)), key))
            continue;
        *out = inv_trim(eq + 1, t.n - (size_t)(eq - t.p) - 1);
        return 0;
    }
    return WARD_ENOENT;
}

/* ---- snap.yaml ---- */

int inv_snap_yaml_parse(const char *buf, size_t len, struct inv_snap_yaml *out)
{
    struct lines l;
    struct inv_span line;
    int in_arch = 0;
    if (!out || (!buf && len))
        return WARD_EINVAL;
    memset(out, 0, sizeof(*out));
    lines_init(&l, buf, len);
    while (next_line(&l, &line)) {
        struct inv_span t;
        const char *colon;
        if (line.n > 4096 || line.n == 0)
            continue;
        if (is_blank(line.p[0]) || line.p[0] == '-') {
            t = inv_trim(line.p, line.n);
            if (in_arch && !out->arch.n && t.n > 1 && t.p[0] == '-')
                out->arch = unquote(inv_trim(t.p + 1, t.n - 1));
            continue;
        }
        in_arch = 0;
        colon = memchr(line.p, ':', line.n);
        if (!colon)
            continue;
        t = inv_trim(line.p, (size_t)(colon - line.p));
        {
            struct inv_span v = inv_trim(colon + 1, line.n - (size_t)(colon - line.p) - 1);
            if (inv_span_eq(t, "name") && !out->name.n) {
                out->name = unquote(v);
            } else if (inv_span_eq(t, "version") && !out->version.n) {
                out->version = unquote(v);
            } else if (inv_span_eq(t, "architectures")) {
                if (v.n == 0) {
                    in_arch = 1;
                } else if (v.p[0] == '[' && !out->arch.n) {
                    size_t e = 1;
                    while (e < v.n && v.p[e] != ',' && v.p[e] != ']')
                        e++;
                    out->arch = unquote(inv_trim(v.p + 1, e - 1));
                }
            }
        }
    }
    return out->name.n ? 0 : WARD_EPARSE;
}

/* ---- GVariant deploy data ---- */

int inv_gvariant_find_string(const char *buf, size_t len, const char *key, struct inv_span *out)
{
    size_t kn;
    if (!key || !out || (!buf && len))
        return WARD_EINVAL;
    kn = strlen(key) + 1; /* with its NUL */
    for (size_t i = 0; i + kn <= len; i++) {
        size_t j, s, e;
        if (buf[i] != key[0] || memcmp(buf + i, key, kn) != 0)
            continue;
        if (i > 0 && buf[i - 1] != '\0')
            continue; /* inside another string */
        /* a{sv} entry: key string, padding to the variant's 8-byte alignment, then the
         * variant: the value's bytes, a NUL, and the type signature "s". */
        j = i + kn;
        while (j < len && j - (i + kn) < 8 && buf[j] == '\0')
            j++;
        s = j;
        e = s;
        while (e < len && buf[e] != '\0' && e - s < 1024)
            e++;
        if (e + 1 < len && buf[e] == '\0' && buf[e + 1] == 's' && e > s) {
            out->p = buf + s;
            out->n = e - s;
            return 0;
        }
    }
    return WARD_ENOENT;
}

/* ---- TPM caps ---- */

int inv_tpm_caps_parse(const char *buf, size_t len, struct inv_tpm_caps *out)
{
    struct lines l;
    struct inv_span line;
    if (!out || (!buf && len))
        return WARD_EINVAL;
    memset(out, 0, sizeof(*out));
    lines_init(&l, buf, len);
    while (next_line(&l, &line)) {
        const char *colon = memchr(line.p, ':', line.n < 64 ? line.n : 64);
        struct inv_span k, v;
        if (!colon || line.n > 1024)
            continue;
        k = inv_trim(line.p, (size_t)(colon - line.p));
        v = inv_trim(colon + 1, line.n - (size_t)(colon - line.p) - 1);
        if (inv_span_eq(k, "Manufacturer") && v.n > 2 && v.p[0] == '0' &&
            (v.p[1] == 'x' || v.p[1] == 'X')) {
            unsigned long long id;
            size_t o = 0;
            if (parse_hex_u64((struct inv_span){v.p + 2, v.n - 2}, &id) != 0 || id > 0xffffffffu)
                continue;
            for (int sh = 24; sh >= 0; sh -= 8) {
                char c = (char)((id >> sh) & 0xff);
                if (c > ' ' && c < 0x7f)
                    out->manufacturer[o++] = c;
            }
            out->manufacturer[o] = '\0';
        } else if (inv_span_eq(k, "TCG version") && v.n && v.n < sizeof(out->version)) {
            copy_value(out->version, sizeof(out->version), v);
        }
    }
    return 0;
}
