/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Line-oriented text helpers for the kinds that edit configuration files (line, ini,
 * sysctl drop-ins, modprobe.d): iterate lines without copying, match "key value" lines the
 * way sshd_config and login.defs are written, and rebuild a file from a sorted list of
 * line edits so everything not touched stays byte for byte as it was.
 */
#include <string.h>

#include "internal.h"
#include "ward/alloc.h"
#include "ward/error.h"

int enf_text_next(const char *data, size_t len, size_t *pos, struct enf_line *l)
{
    const char *nl;
    size_t start = *pos;
    if (start >= len)
        return 0;
    nl = memchr(data + start, '\n', len - start);
    l->p = data + start;
    l->len = nl ? (size_t)(nl - (data + start)) : len - start;
    *pos = nl ? (size_t)(nl - data) + 1 : len;
    if (l->len > 0 && l->p[l->len - 1] == '\r')
        l->len--;
    return 1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

struct enf_line enf_text_ltrim(struct enf_line l)
{
    while (l.len > 0 && is_blank(*l.p)) {
        l.p++;
        l.len--;
    }
    return l;
}

struct enf_line enf_text_trim(struct enf_line l)
{
    l = enf_text_ltrim(l);
    while (l.len > 0 && is_blank(l.p[l.len - 1]))
        l.len--;
    return l;
}

int enf_text_is_comment(struct enf_line l, const char *comment)
{
    l = enf_text_ltrim(l);
    if (l.len == 0)
        return 1;
    return comment && comment[0] && strchr(comment, l.p[0]) != NULL;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

int enf_text_key_match(struct enf_line l, const char *key, const char *sep, int icase,
                       const char *comment, struct enf_line *val)
{
    size_t klen = strlen(key), i;
    int ws_sep = 1;
    if (enf_text_is_comment(l, comment))
        return 0;
    l = enf_text_ltrim(l);
    if (l.len < klen)
        return 0;
    for (i = 0; i < klen; i++) {
        char a = l.p[i], b = key[i];
        if (icase ? lower(a) != lower(b) : a != b)
            return 0;
    }
    l.p += klen;
    l.len -= klen;
    for (const char *s = sep; s && *s; s++)
        if (!is_blank(*s))
            ws_sep = 0;
    if (ws_sep) {
        /* the key must end here: blanks or the end of the line */
        if (l.len > 0 && !is_blank(l.p[0]))
            return 0;
    } else {
        struct enf_line r = enf_text_ltrim(l);
        struct enf_line sp = {.p = sep, .len = strlen(sep)};
        sp = enf_text_trim(sp);
        if (r.len < sp.len || memcmp(r.p, sp.p, sp.len) != 0)
            return 0;
        l.p = r.p + sp.len;
        l.len = r.len - sp.len;
    }
    *val = enf_text_trim(l);
    return 1;
}

int enf_text_eq(struct enf_line a, const char *b, int ws)
{
    size_t blen = strlen(b);
    if (!ws)
        return a.len == blen && memcmp(a.p, b, blen) == 0;
    {
        struct enf_line bl = {.p = b, .len = blen};
        size_t i = 0, j = 0;
        a = enf_text_trim(a);
        bl = enf_text_trim(bl);
        while (i < a.len && j < bl.len) {
            if (is_blank(a.p[i]) && is_blank(bl.p[j])) {
                while (i < a.len && is_blank(a.p[i]))
                    i++;
                while (j < bl.len && is_blank(bl.p[j]))
                    j++;
                continue;
            }
            if (a.p[i] != bl.p[j])
                return 0;
            i++;
            j++;
        }
        return i == a.len && j == bl.len;
    }
}

/* Stable insertion sort by line, insertions first among edits of one line. */
static int edit_before(const struct enf_edit *a, const struct enf_edit *b)
{
    if (a->line != b->line)
        return a->line < b->line;
    return a->op == ENF_EDIT_INSERT && b->op != ENF_EDIT_INSERT;
}

int enf_text_edit(const char *data, size_t len, const struct enf_edit *in, size_t n,
                  const char *comment, struct ward_buf *out)
{
    size_t pos = 0, idx = 0, e = 0, start;
    struct enf_line l;
    struct enf_edit *edits = NULL;
    int rc = 0;

    if (n > 0) {
        edits = ward_malloc(n * sizeof(*edits));
        if (!edits)
            return WARD_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            size_t j = i;
            while (j > 0 && edit_before(&in[i], &edits[j - 1])) {
                edits[j] = edits[j - 1];
                j--;
            }
            edits[j] = in[i];
        }
    }

    for (;;) {
        int have;
        start = pos;
        have = enf_text_next(data, len, &pos, &l);
        /* insertions before this line (or at the end) */
        while (rc == 0 && e < n && edits[e].line == idx && edits[e].op == ENF_EDIT_INSERT) {
            if (out->len > 0 && out->data[out->len - 1] != '\n')
                rc = ward_buf_append(out, "\n", 1);
            if (rc == 0)
                rc = ward_buf_append_str(out, edits[e].text);
            if (rc == 0)
                rc = ward_buf_append(out, "\n", 1);
            e++;
        }
        if (rc != 0 || !have)
            break;
        if (e < n && edits[e].line == idx) {
            const struct enf_edit *ed = &edits[e++];
            int had_nl = pos > start && data[pos - 1] == '\n';
            switch (ed->op) {
            case ENF_EDIT_REPLACE:
                rc = ward_buf_append_str(out, ed->text);
                if (rc == 0 && had_nl)
                    rc = ward_buf_append(out, "\n", 1);
                break;
            case ENF_EDIT_DELETE:
                break;
            case ENF_EDIT_COMMENT:
                rc = ward_buf_append(out, comment && comment[0] ? comment : "#", 1);
                if (rc == 0)
                    rc = ward_buf_append(out, " ", 1);
                if (rc == 0)
                    rc = ward_buf_append(out, data + start, pos - start);
                break;
            case ENF_EDIT_INSERT:
                break;
            }
            /* several edits on one line: the first wins */
            while (e < n && edits[e].line == idx && edits[e].op != ENF_EDIT_INSERT)
                e++;
        } else {
            rc = ward_buf_append(out, data + start, pos - start);
        }
        idx++;
    }
    if (rc == 0 && !out->data)
        rc = ward_buf_append(out, "", 0);
    ward_free(edits);
    return rc;
}

json_t *enf_json_str_or_null(const char *s, size_t len)
{
    if (!s)
        return json_null();
    return json_stringn(s, len);
}

int enf_text_idle(const char *data, size_t len, const char *comment, int ini)
{
    size_t pos = 0;
    struct enf_line l;
    while (enf_text_next(data, len, &pos, &l)) {
        struct enf_line t = enf_text_trim(l);
        if (enf_text_is_comment(t, comment))
            continue;
        if (ini && t.len >= 2 && t.p[0] == '[' && t.p[t.len - 1] == ']')
            continue;
        return 0;
    }
    return 1;
}

int enf_mkdir_parent(struct enf_ctx *ctx, const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[PLAT_FS_MAX_PATH + 1];
    struct plat_fs_info info;
    size_t n;
    if (!slash || slash == path)
        return 0;
    n = (size_t)(slash - path);
    if (n >= sizeof(dir))
        return WARD_EPATH;
    memcpy(dir, path, n);
    dir[n] = '\0';
    if (enf_file_stat(ctx, dir, 0, &info) == 0)
        return 0;
    return enf_mkdir(ctx, dir, 0755);
}

int enf_text_rewrite(struct enf_ctx *ctx, const char *path, const char *data, size_t len,
                     const struct enf_edit *edits, size_t n, const char *comment,
                     int remove_if_idle)
{
    struct ward_buf out;
    int rc;
    ward_buf_init(&out, (size_t)64 << 20);
    rc = enf_text_edit(data ? data : "", data ? len : 0, edits, n, comment, &out);
    if (rc == 0 && remove_if_idle &&
        enf_text_idle(out.data, out.len, comment, remove_if_idle == 2)) {
        rc = data ? enf_file_remove(ctx, path) : 0;
        goto out;
    }
    if (rc == 0 && !data)
        rc = enf_mkdir_parent(ctx, path);
    if (rc == 0)
        rc = enf_file_write(ctx, path, out.data, out.len, NULL);
out:
    ward_buf_release(&out);
    return rc;
}
