/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The package kind's view of the dpkg database: "is this package installed, and at which
 * version", read from var/lib/dpkg/status under the root. Inventory has the full status
 * parser; enforcement may not link it (DESIGN section 1), and needs only this. Version
 * ordering is common/'s ward_vercmp_dpkg, shared with inventory queries on the server.
 */
#include <stdio.h>
#include <string.h>

#include "helpers.h"

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
