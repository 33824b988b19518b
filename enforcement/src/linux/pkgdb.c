/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The package kind's view of the dpkg database: "is this package installed, and at which
 * version", read from var/lib/dpkg/status under the root, and Debian's version ordering
 * (dpkg's verrevcmp from lib/dpkg/version.c) to judge `min_version`. Inventory has the full
 * status parser; enforcement may not link it (DESIGN section 1), and needs only this.
 */
#include <stdio.h>
#include <string.h>

#include "helpers.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A field "Name: value" on line l: returns the trimmed value span when the name matches. */
static int field(struct enf_line l, const char *name, struct enf_line *val)
{
    size_t n = strlen(name);
    if (l.len <= n || memcmp(l.p, name, n) != 0 || l.p[n] != ':')
        return 0;
    val->p = l.p + n + 1;
    val->len = l.len - n - 1;
    *val = enf_text_trim(*val);
    return 1;
}

static int span_eq(struct enf_line a, const char *b, size_t blen)
{
    return a.len == blen && (blen == 0 || memcmp(a.p, b, blen) == 0);
}

/* The last word of a Status value ("install ok installed" -> "installed"). */
static int status_installed(struct enf_line v)
{
    size_t i = v.len;
    while (i > 0 && v.p[i - 1] != ' ')
        i--;
    return v.len - i == 9 && memcmp(v.p + i, "installed", 9) == 0;
}

void enf_dpkg_lookup(const char *data, size_t len, const char *name, int *installed, char *ver,
                     size_t verlen)
{
    const char *colon = strchr(name, ':');
    size_t nlen = colon ? (size_t)(colon - name) : strlen(name);
    size_t pos = 0;
    struct enf_line l, v, pkg = {0}, arch = {0}, status = {0}, version = {0};
    int more = 1;

    *installed = 0;
    if (verlen)
        ver[0] = '\0';
    while (more) {
        more = enf_text_next(data, len, &pos, &l);
        if (more && l.len > 0) {
            if (l.p[0] == ' ' || l.p[0] == '\t')
                continue; /* continuation of a multi-line field */
            if (field(l, "Package", &v))
                pkg = v;
            else if (field(l, "Architecture", &v))
                arch = v;
            else if (field(l, "Status", &v))
                status = v;
            else if (field(l, "Version", &v))
                version = v;
            continue;
        }
        /* end of a stanza (blank line or end of file) */
        if (pkg.p && span_eq(pkg, name, nlen) &&
            (!colon || span_eq(arch, colon + 1, strlen(colon + 1))) && status.p &&
            status_installed(status)) {
            *installed = 1;
            if (verlen)
                snprintf(ver, verlen, "%.*s", (int)version.len, version.p ? version.p : "");
            return;
        }
        pkg = arch = status = version = (struct enf_line){0};
    }
}

static int order(char c)
{
    if (is_digit(c))
        return 0;
    if (is_alpha(c))
        return (unsigned char)c;
    if (c == '~')
        return -1;
    if (c)
        return (unsigned char)c + 256;
    return 0;
}

static int verrevcmp(const char *a, const char *b)
{
    while (*a || *b) {
        int first_diff = 0;
        while ((*a && !is_digit(*a)) || (*b && !is_digit(*b))) {
            int ac = order(*a), bc = order(*b);
            if (ac != bc)
                return ac - bc;
            a++;
            b++;
        }
        while (*a == '0')
            a++;
        while (*b == '0')
            b++;
        while (is_digit(*a) && is_digit(*b)) {
            if (!first_diff)
                first_diff = *a - *b;
            a++;
            b++;
        }
        if (is_digit(*a))
            return 1;
        if (is_digit(*b))
            return -1;
        if (first_diff)
            return first_diff;
    }
    return 0;
}

struct dver {
    unsigned long long epoch;
    char upstream[256];
    char revision[256];
};

static void parse(const char *s, struct dver *v)
{
    const char *colon = strchr(s, ':'), *dash;
    v->epoch = 0;
    if (colon) {
        for (const char *c = s; c < colon && is_digit(*c); c++)
            v->epoch = v->epoch * 10u + (unsigned)(*c - '0');
        s = colon + 1;
    }
    dash = strrchr(s, '-');
    if (dash) {
        snprintf(v->upstream, sizeof(v->upstream), "%.*s", (int)(dash - s), s);
        snprintf(v->revision, sizeof(v->revision), "%s", dash + 1);
    } else {
        snprintf(v->upstream, sizeof(v->upstream), "%s", s);
        v->revision[0] = '\0';
    }
}

int enf_dpkg_vercmp(const char *a, const char *b)
{
    struct dver x, y;
    int r;
    parse(a, &x);
    parse(b, &y);
    if (x.epoch != y.epoch)
        return x.epoch < y.epoch ? -1 : 1;
    r = verrevcmp(x.upstream, y.upstream);
    if (r == 0)
        r = verrevcmp(x.revision, y.revision);
    return r < 0 ? -1 : r > 0;
}
