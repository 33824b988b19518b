/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What enforcement reads of the dpkg database and of apt's sources: "is this package
 * installed, and at which version" (the package kind), every installed package and the
 * difference between two snapshots (the package and os_update commands), and the apt
 * sources cut down to security suites (os_update security_only). Inventory has the full
 * status parser; enforcement may not link it (DESIGN section 1), and needs only this.
 * Version ordering is common/'s ward_vercmp_dpkg, shared with inventory queries on the
 * server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "ward/alloc.h"
#include "ward/error.h"

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

/* One stanza's fields the commands and the kind need (spans into the data). */
struct stanza {
    struct enf_line pkg, arch, status, version;
};

/* The next stanza from *pos: 1 with st filled in (fields absent from it are {NULL, 0}), 0
 * at the end of the data. */
static int next_stanza(const char *data, size_t len, size_t *pos, struct stanza *st)
{
    struct enf_line l, v;
    int seen = 0;
    memset(st, 0, sizeof(*st));
    while (enf_text_next(data, len, pos, &l)) {
        if (l.len == 0) {
            if (seen)
                return 1; /* a blank line ends the stanza */
            continue;
        }
        seen = 1;
        if (l.p[0] == ' ' || l.p[0] == '\t')
            continue; /* continuation of a multi-line field */
        if (field(l, "Package", &v))
            st->pkg = v;
        else if (field(l, "Architecture", &v))
            st->arch = v;
        else if (field(l, "Status", &v))
            st->status = v;
        else if (field(l, "Version", &v))
            st->version = v;
    }
    return seen;
}

static int stanza_installed(const struct stanza *st)
{
    return st->pkg.p && st->pkg.len > 0 && st->status.p && status_installed(st->status);
}

void enf_dpkg_lookup(const char *data, size_t len, const char *name, int *installed, char *ver,
                     size_t verlen)
{
    const char *colon = strchr(name, ':');
    size_t nlen = colon ? (size_t)(colon - name) : strlen(name);
    size_t pos = 0;
    struct stanza st;

    *installed = 0;
    if (verlen)
        ver[0] = '\0';
    while (next_stanza(data, len, &pos, &st)) {
        if (stanza_installed(&st) && span_eq(st.pkg, name, nlen) &&
            (!colon || span_eq(st.arch, colon + 1, strlen(colon + 1)))) {
            *installed = 1;
            if (verlen)
                snprintf(ver, verlen, "%.*s", (int)st.version.len,
                         st.version.p ? st.version.p : "");
            return;
        }
    }
}

/* ---- the whole database, for a command's before/after comparison ---- */

static int pkg_cmp(const void *a, const void *b)
{
    const struct enf_dpkg_pkg *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c == 0 && x->name_len != y->name_len)
        c = x->name_len < y->name_len ? -1 : 1;
    if (c == 0) {
        n = x->arch_len < y->arch_len ? x->arch_len : y->arch_len;
        c = memcmp(x->arch, y->arch, n);
        if (c == 0 && x->arch_len != y->arch_len)
            c = x->arch_len < y->arch_len ? -1 : 1;
    }
    return c;
}

int enf_dpkg_installed(const char *data, size_t len, struct enf_dpkg_pkg **out, size_t *count)
{
    size_t pos = 0, n = 0, cap = 0;
    struct enf_dpkg_pkg *list = NULL;
    struct stanza st;

    *out = NULL;
    *count = 0;
    while (next_stanza(data, len, &pos, &st)) {
        if (!stanza_installed(&st))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            struct enf_dpkg_pkg *nl = ward_realloc(list, ncap * sizeof(*list));
            if (!nl) {
                ward_free(list);
                return WARD_ENOMEM;
            }
            list = nl;
            cap = ncap;
        }
        list[n].name = st.pkg.p;
        list[n].name_len = st.pkg.len;
        list[n].arch = st.arch.p ? st.arch.p : "";
        list[n].arch_len = st.arch.len;
        list[n].version = st.version.p ? st.version.p : "";
        list[n].version_len = st.version.len;
        n++;
    }
    if (n > 1)
        qsort(list, n, sizeof(*list), pkg_cmp);
    *out = list;
    *count = n;
    return 0;
}

static json_t *change(const struct enf_dpkg_pkg *p, const struct enf_dpkg_pkg *before,
                      const struct enf_dpkg_pkg *after)
{
    return json_pack(
        "{s:s%, s:s%, s:o, s:o}", "name", p->name, p->name_len, "arch", p->arch, p->arch_len,
        "before", before ? json_stringn(before->version, before->version_len) : json_null(),
        "after", after ? json_stringn(after->version, after->version_len) : json_null());
}

int enf_dpkg_diff(const char *before, size_t blen, const char *after, size_t alen, json_t **out)
{
    struct enf_dpkg_pkg *a = NULL, *b = NULL;
    size_t na = 0, nb = 0, i = 0, k = 0;
    json_t *list = NULL;
    int rc;

    *out = NULL;
    rc = enf_dpkg_installed(before, blen, &a, &na);
    if (rc == 0)
        rc = enf_dpkg_installed(after, alen, &b, &nb);
    if (rc == 0 && !(list = json_array()))
        rc = WARD_ENOMEM;
    while (rc == 0 && (i < na || k < nb)) {
        int c = i == na ? 1 : k == nb ? -1 : pkg_cmp(&a[i], &b[k]);
        json_t *ch = NULL;
        if (c < 0) {
            ch = change(&a[i], &a[i], NULL);
            i++;
        } else if (c > 0) {
            ch = change(&b[k], NULL, &b[k]);
            k++;
        } else {
            if (a[i].version_len != b[k].version_len ||
                memcmp(a[i].version, b[k].version, a[i].version_len) != 0)
                ch = change(&b[k], &a[i], &b[k]);
            else
                ch = json_null(); /* unchanged */
            i++;
            k++;
        }
        if (!ch)
            rc = WARD_ENOMEM;
        else if (json_is_null(ch))
            json_decref(ch);
        else if (json_array_append_new(list, ch) != 0)
            rc = WARD_ENOMEM;
    }
    ward_free(a);
    ward_free(b);
    if (rc != 0) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

/* ---- apt sources restricted to security suites (os_update security_only) ---- */

/* "bookworm-security", "jammy-security", and the old Debian "buster/updates". */
static int security_suite(const char *s, size_t n)
{
    return (n > 9 && memcmp(s + n - 9, "-security", 9) == 0) ||
           (n > 8 && memcmp(s + n - 8, "/updates", 8) == 0);
}

/* The next blank-separated word of l from *i (0 when none). */
static int word(struct enf_line l, size_t *i, struct enf_line *w)
{
    while (*i < l.len && (l.p[*i] == ' ' || l.p[*i] == '\t'))
        (*i)++;
    if (*i >= l.len || l.p[*i] == '#')
        return 0;
    w->p = l.p + *i;
    while (*i < l.len && l.p[*i] != ' ' && l.p[*i] != '\t')
        (*i)++;
    w->len = (size_t)(l.p + *i - w->p);
    return 1;
}

int enf_apt_security_list(const char *data, size_t len, struct ward_buf *out, size_t *kept)
{
    size_t pos = 0;
    struct enf_line l;
    int rc = 0;
    while (rc == 0 && enf_text_next(data, len, &pos, &l)) {
        struct enf_line w;
        size_t i = 0;
        if (!word(l, &i, &w) || !(w.len == 3 && memcmp(w.p, "deb", 3) == 0))
            continue; /* comments, blank lines, deb-src */
        if (!word(l, &i, &w))
            continue;
        if (w.p[0] == '[') { /* options: "[arch=amd64 signed-by=...]" up to the closing ']' */
            int closed = 1;
            while (closed && w.p[w.len - 1] != ']')
                closed = word(l, &i, &w);
            if (!closed || !word(l, &i, &w))
                continue; /* unterminated options (apt rejects the line too), or no URI */
        }
        if (!word(l, &i, &w)) /* w was the URI: now the suite */
            continue;
        if (!security_suite(w.p, w.len))
            continue;
        rc = ward_buf_appendf(out, "%.*s\n", (int)l.len, l.p);
        if (rc == 0)
            (*kept)++;
    }
    return rc;
}

int enf_apt_security_sources(const char *data, size_t len, struct ward_buf *out, size_t *kept)
{
    size_t pos = 0, nsec = 0;
    struct enf_line l, v, w;
    int more = 1, rc = 0;
    struct ward_buf st;

    ward_buf_init(&st, len + 64);
    while (rc == 0 && more) {
        more = enf_text_next(data, len, &pos, &l);
        if (more && enf_text_trim(l).len > 0) {
            if (l.p[0] != ' ' && l.p[0] != '\t' && field(l, "Suites", &v)) {
                size_t i = 0;
                rc = ward_buf_append_str(&st, "Suites:");
                while (rc == 0 && word(v, &i, &w))
                    if (security_suite(w.p, w.len) &&
                        (rc = ward_buf_appendf(&st, " %.*s", (int)w.len, w.p)) == 0)
                        nsec++;
                if (rc == 0)
                    rc = ward_buf_append_str(&st, "\n");
            } else {
                rc = ward_buf_appendf(&st, "%.*s\n", (int)l.len, l.p);
            }
            continue;
        }
        /* end of a stanza: keep it, with only its security suites, when it has one */
        if (rc == 0 && nsec > 0) {
            rc = ward_buf_appendf(out, "%s%.*s", out->len ? "\n" : "", (int)st.len, st.data);
            if (rc == 0)
                (*kept)++;
        }
        ward_buf_reset(&st);
        nsec = 0;
    }
    ward_buf_release(&st);
    return rc;
}

int enf_apt_removals(const char *out, size_t len, json_t **names)
{
    size_t pos = 0;
    struct enf_line l, w;
    json_t *list = json_array();

    *names = NULL;
    if (!list)
        return WARD_ENOMEM;
    while (enf_text_next(out, len, &pos, &l)) {
        size_t i = 0;
        const char *colon;
        if (l.len < 5 || memcmp(l.p, "Remv ", 5) != 0 || !word(l, &i, &w) || !word(l, &i, &w))
            continue;
        /* "hello" or "libfoo:i386": the artifacts table names packages without the arch */
        colon = memchr(w.p, ':', w.len);
        if (json_array_append_new(list, json_stringn(w.p, colon ? (size_t)(colon - w.p) : w.len)) !=
            0) {
            json_decref(list);
            return WARD_ENOMEM;
        }
    }
    *names = list;
    return 0;
}
