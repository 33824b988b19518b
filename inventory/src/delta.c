/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inventory hashes and deltas: the canonical serialization both sides hash, merging a new
 * collection into the document last sent, the row-by-row delta between two documents and
 * its application, and schema checks of uploaded rows. Rows are matched by their key text
 * (inv_key_text) and compared by their canonical text (non-volatile columns only), so the
 * same machine collected twice gives an empty delta. Everything works on jansson values
 * and the schema tables only: ward-server links this file without any collector.
 */
#define WARD_LOG_TAG "inv-delta"

#include "inventory/delta.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"

#define CANON_MAX ((size_t)512 << 20) /* far above the 8 MiB upload limit */
#define KEY_MAX ((size_t)64 << 10)

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) WARD_PRINTF(4, 5);
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* ---- tables inside a document ---------------------------------------------------------- */

json_t *inv_doc_table_get(json_t *doc, const struct inv_table *t, int create)
{
    json_t *sec, *v;
    if (!doc || !t)
        return NULL;
    sec = json_object_get(doc, t->section);
    if (!t->member) {
        if (sec || !create)
            return sec;
        v = t->shape == INV_SHAPE_ARRAY ? json_array() : json_object();
        if (!v || json_object_set_new(doc, t->section, v) != 0)
            return NULL;
        return v;
    }
    if (!sec) {
        if (!create)
            return NULL;
        sec = json_object();
        if (!sec || json_object_set_new(doc, t->section, sec) != 0)
            return NULL;
    }
    if (!json_is_object(sec))
        return NULL;
    v = json_object_get(sec, t->member);
    if (v || !create)
        return v;
    v = t->shape == INV_SHAPE_ARRAY ? json_array() : json_object();
    if (!v || json_object_set_new(sec, t->member, v) != 0)
        return NULL;
    return v;
}

static const json_t *table_of(const json_t *doc, const struct inv_table *t)
{
    return inv_doc_table_get((json_t *)(uintptr_t)doc, t, 0);
}

/* Replaces (value = new reference, consumed) or removes (value NULL) a table. */
static int table_put(json_t *doc, const struct inv_table *t, json_t *value)
{
    json_t *sec;
    if (!t->member) {
        if (!value)
            return json_object_del(doc, t->section) == 0 ? 0 : WARD_ENOENT;
        return json_object_set_new(doc, t->section, value) == 0 ? 0 : WARD_ENOMEM;
    }
    sec = json_object_get(doc, t->section);
    if (!value) {
        if (!json_is_object(sec) || json_object_del(sec, t->member) != 0)
            return WARD_ENOENT;
        if (json_object_size(sec) == 0)
            json_object_del(doc, t->section);
        return 0;
    }
    if (!sec) {
        sec = json_object();
        if (!sec || json_object_set_new(doc, t->section, sec) != 0) {
            json_decref(value);
            return WARD_ENOMEM;
        }
    }
    if (!json_is_object(sec)) {
        json_decref(value);
        return WARD_EPARSE;
    }
    return json_object_set_new(sec, t->member, value) == 0 ? 0 : WARD_ENOMEM;
}

static int table_shape_ok(const struct inv_table *t, const json_t *v)
{
    return t->shape == INV_SHAPE_ARRAY ? json_is_array(v) : json_is_object(v);
}

/* ---- keys and canonical rows ----------------------------------------------------------- */

static json_t *key_value(const struct inv_table *t, const json_t *row)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (const struct inv_column *c = t->columns; c->name; c++) {
        json_t *v;
        if (!(c->flags & INV_COL_KEY))
            continue;
        v = json_object_get(row, c->name);
        if (json_array_append(arr, v ? v : json_null()) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

int inv_key_text(const struct inv_table *t, const json_t *row, struct ward_buf *b)
{
    json_t *arr;
    int rc;
    if (!t || !row || !b)
        return WARD_EINVAL;
    arr = key_value(t, row);
    if (!arr)
        return WARD_ENOMEM;
    rc = ward_json_dump_buf(arr, 0, b);
    json_decref(arr);
    return rc;
}

int inv_row_canonical(const struct inv_table *t, const json_t *row, struct ward_buf *b)
{
    json_t *o, *v;
    const char *k;
    int rc = 0;
    if (!t || !json_is_object(row) || !b)
        return WARD_EINVAL;
    o = json_object();
    if (!o)
        return WARD_ENOMEM;
    json_object_foreach((json_t *)(uintptr_t)row, k, v)
    {
        const struct inv_column *c = inv_table_column(t, k);
        if (c && (c->flags & INV_COL_VOLATILE))
            continue;
        if (json_object_set(o, k, v) != 0) {
            rc = WARD_ENOMEM;
            break;
        }
    }
    if (rc == 0)
        rc = ward_json_dump_buf(o, WARD_JSON_SORT_KEYS, b);
    json_decref(o);
    return rc;
}

/* One row of a table with its key text (and canonical text when asked for). */
struct item {
    char *key;
    char *canon;
    json_t *row; /* borrowed */
    size_t idx;  /* position in the table's array */
    int gone;    /* inv_delta_apply: removed */
};

static void items_free(struct item *it, size_t n)
{
    for (size_t i = 0; it && i < n; i++) {
        ward_free(it[i].key);
        ward_free(it[i].canon);
    }
    ward_free(it);
}

static int cmp_item_key(const void *a, const void *b)
{
    return strcmp(((const struct item *)a)->key, ((const struct item *)b)->key);
}

static int text_of(struct ward_buf *b, char **out)
{
    *out = ward_buf_steal(b, NULL);
    return *out ? 0 : WARD_ENOMEM;
}

static int item_fill(const struct inv_table *t, json_t *row, size_t idx, int canon, struct item *it)
{
    struct ward_buf b;
    int rc;
    it->row = row;
    it->idx = idx;
    ward_buf_init(&b, KEY_MAX);
    rc = inv_key_text(t, row, &b);
    if (rc == 0)
        rc = text_of(&b, &it->key);
    if (rc == 0 && canon) {
        ward_buf_init(&b, CANON_MAX);
        rc = inv_row_canonical(t, row, &b);
        if (rc == 0)
            rc = text_of(&b, &it->canon);
    }
    ward_buf_release(&b);
    return rc;
}

/* Items of a table value (one for a single-row table), sorted by key text. */
static int items_build(const struct inv_table *t, const json_t *v, int canon, struct item **out,
                       size_t *n)
{
    size_t count = t->shape == INV_SHAPE_ARRAY ? json_array_size(v) : 1;
    struct item *it;
    int rc = 0;

    *out = NULL;
    *n = 0;
    if (!table_shape_ok(t, v))
        return WARD_EPARSE;
    it = ward_calloc(count ? count : 1, sizeof(*it));
    if (!it)
        return WARD_ENOMEM;
    for (size_t i = 0; i < count && rc == 0; i++) {
        json_t *row = t->shape == INV_SHAPE_ARRAY ? json_array_get(v, i) : (json_t *)(uintptr_t)v;
        if (!json_is_object(row))
            rc = WARD_EPARSE;
        else
            rc = item_fill(t, row, i, canon, &it[i]);
    }
    if (rc != 0) {
        items_free(it, count);
        return rc;
    }
    qsort(it, count, sizeof(*it), cmp_item_key);
    *out = it;
    *n = count;
    return 0;
}

static int cmp_table_name(const void *a, const void *b)
{
    const struct inv_table *x = *(const struct inv_table *const *)a;
    const struct inv_table *y = *(const struct inv_table *const *)b;
    return strcmp(x->name, y->name);
}

int inv_doc_canonical(const json_t *doc, struct ward_buf *b)
{
    const struct inv_table *tables[64];
    size_t nt = 0;
    int rc = 0;

    if (!json_is_object(doc) || !b)
        return WARD_EINVAL;
    for (size_t s = 0; inv_sections[s]; s++)
        for (size_t i = 0; inv_sections[s]->tables[i] && nt < 64; i++)
            if (table_of(doc, inv_sections[s]->tables[i]))
                tables[nt++] = inv_sections[s]->tables[i];
    qsort(tables, nt, sizeof(tables[0]), cmp_table_name);
    for (size_t i = 0; i < nt && rc == 0; i++) {
        struct item *it = NULL;
        size_t n = 0;
        rc = items_build(tables[i], table_of(doc, tables[i]), 1, &it, &n);
        if (rc == 0)
            rc = ward_buf_appendf(b, "T %s\n", tables[i]->name);
        for (size_t k = 0; k < n && rc == 0; k++) {
            rc = ward_buf_append_str(b, "R ");
            if (rc == 0)
                rc = ward_buf_append_str(b, it[k].key);
            if (rc == 0)
                rc = ward_buf_append(b, " ", 1);
            if (rc == 0)
                rc = ward_buf_append_str(b, it[k].canon);
            if (rc == 0)
                rc = ward_buf_append(b, "\n", 1);
        }
        items_free(it, n);
    }
    return rc;
}

int inv_doc_hash(const json_t *doc, char hex[INV_HASH_HEX_LEN])
{
    struct ward_buf b;
    uint8_t md[WARD_SHA256_LEN];
    int rc;

    if (!doc || !hex)
        return WARD_EINVAL;
    ward_buf_init(&b, CANON_MAX);
    rc = inv_doc_canonical(doc, &b);
    if (rc == 0)
        rc = ward_sha256(b.data ? b.data : "", b.len, md);
    if (rc == 0)
        rc = ward_hex_encode(md, sizeof(md), hex, INV_HASH_HEX_LEN);
    ward_buf_release(&b);
    return rc;
}

/* ---- merge ----------------------------------------------------------------------------- */

int inv_doc_merge(const json_t *prev, const json_t *cur, json_t **out)
{
    json_t *o, *coll;
    if (!out || !json_is_object(cur) || (prev && !json_is_object(prev)))
        return WARD_EINVAL;
    *out = NULL;
    o = json_object();
    if (!o)
        return WARD_ENOMEM;
    for (size_t s = 0; inv_sections[s]; s++) {
        const char *name = inv_sections[s]->name;
        json_t *v = json_object_get(cur, name);
        if (!v && prev)
            v = json_object_get(prev, name);
        if (v && json_object_set(o, name, v) != 0)
            goto nomem;
    }
    coll = json_object_get(cur, "collection");
    if (coll && json_object_set(o, "collection", coll) != 0)
        goto nomem;
    *out = o;
    return 0;
nomem:
    json_decref(o);
    return WARD_ENOMEM;
}

/* ---- delta ----------------------------------------------------------------------------- */

/* Appends v (a reference is taken) to the array member name of entry, creating it. */
static int entry_append(json_t *entry, const char *name, json_t *v, int steal)
{
    json_t *arr = json_object_get(entry, name);
    int rc;
    if (!arr) {
        arr = json_array();
        if (!arr || json_object_set_new(entry, name, arr) != 0) {
            if (steal)
                json_decref(v);
            return WARD_ENOMEM;
        }
    }
    rc = steal ? json_array_append_new(arr, v) : json_array_append(arr, v);
    return rc == 0 ? 0 : WARD_ENOMEM;
}

static int diff_rows(const struct inv_table *t, const json_t *fv, const json_t *tv, json_t *entry,
                     struct inv_delta_stats *st)
{
    struct item *a = NULL, *b = NULL;
    size_t na = 0, nb = 0, i = 0, k = 0;
    int rc;

    rc = items_build(t, fv, 1, &a, &na);
    if (rc == 0)
        rc = items_build(t, tv, 1, &b, &nb);
    while (rc == 0 && (i < na || k < nb)) {
        int c = i >= na ? 1 : k >= nb ? -1 : strcmp(a[i].key, b[k].key);
        if (c < 0) {
            json_t *key = key_value(t, a[i].row);
            rc = key ? entry_append(entry, "removed", key, 1) : WARD_ENOMEM;
            st->removed++;
            i++;
        } else if (c > 0) {
            rc = entry_append(entry, "added", b[k].row, 0);
            st->added++;
            k++;
        } else {
            if (strcmp(a[i].canon, b[k].canon) != 0) {
                rc = entry_append(entry, "changed", b[k].row, 0);
                st->changed++;
            }
            i++;
            k++;
        }
    }
    items_free(a, na);
    items_free(b, nb);
    return rc;
}

static int delta_table(const struct inv_table *t, const json_t *fv, const json_t *tv, json_t *entry,
                       struct inv_delta_stats *st)
{
    if ((fv && !table_shape_ok(t, fv)) || (tv && !table_shape_ok(t, tv)))
        return WARD_EPARSE;
    if (fv && !tv) {
        st->removed++;
        return json_object_set_new(entry, "present", json_false()) == 0 ? 0 : WARD_ENOMEM;
    }
    if (!fv && tv) {
        if (json_object_set_new(entry, "present", json_true()) != 0)
            return WARD_ENOMEM;
        if (t->shape == INV_SHAPE_OBJECT) {
            st->added++;
            return entry_append(entry, "added", (json_t *)(uintptr_t)tv, 0);
        }
        for (size_t i = 0; i < json_array_size(tv); i++) {
            int rc = entry_append(entry, "added", json_array_get(tv, i), 0);
            if (rc != 0)
                return rc;
            st->added++;
        }
        return 0;
    }
    return diff_rows(t, fv, tv, entry, st);
}

int inv_delta_compute(const json_t *from, const json_t *to, json_t **changes,
                      struct inv_delta_stats *st)
{
    struct inv_delta_stats local;
    json_t *out;
    int rc = 0;

    if (!changes || (from && !json_is_object(from)) || (to && !json_is_object(to)))
        return WARD_EINVAL;
    *changes = NULL;
    if (!st)
        st = &local;
    memset(st, 0, sizeof(*st));
    out = json_object();
    if (!out)
        return WARD_ENOMEM;
    for (size_t s = 0; inv_sections[s] && rc == 0; s++) {
        for (size_t i = 0; inv_sections[s]->tables[i] && rc == 0; i++) {
            const struct inv_table *t = inv_sections[s]->tables[i];
            const json_t *fv = from ? table_of(from, t) : NULL;
            const json_t *tv = to ? table_of(to, t) : NULL;
            json_t *entry;
            if (!fv && !tv)
                continue;
            entry = json_object();
            if (!entry) {
                rc = WARD_ENOMEM;
                break;
            }
            rc = delta_table(t, fv, tv, entry, st);
            if (rc == 0 && json_object_size(entry) > 0) {
                st->tables++;
                rc = json_object_set(out, t->name, entry) == 0 ? 0 : WARD_ENOMEM;
            }
            json_decref(entry);
        }
    }
    if (rc != 0) {
        json_decref(out);
        return rc;
    }
    *changes = out;
    return 0;
}

/* ---- checks ---------------------------------------------------------------------------- */

static int type_ok(enum inv_type type, const json_t *v)
{
    switch (type) {
    case INV_STRING:
        return json_is_string(v);
    case INV_INT:
        return json_is_integer(v);
    case INV_BOOL:
        return json_is_boolean(v);
    case INV_REAL:
        return json_is_number(v);
    }
    return 0;
}

int inv_row_check(const struct inv_table *t, const json_t *row, char *err, size_t errlen)
{
    const char *k;
    const json_t *v;
    if (!t)
        return WARD_EINVAL;
    if (!json_is_object(row))
        return fail(err, errlen, WARD_EPARSE, "%s: row is not an object", t->name);
    json_object_foreach((json_t *)(uintptr_t)row, k, v)
    {
        const struct inv_column *c = inv_table_column(t, k);
        if (!c)
            return fail(err, errlen, WARD_EPARSE, "%s: unknown column \"%.64s\"", t->name, k);
        if (!type_ok(c->type, v))
            return fail(err, errlen, WARD_EPARSE, "%s.%s: %s, want %s", t->name, k,
                        ward_json_type_name(v), inv_type_name(c->type));
    }
    for (const struct inv_column *c = t->columns; c->name; c++)
        if ((c->flags & INV_COL_KEY) && !json_object_get(row, c->name))
            return fail(err, errlen, WARD_EPARSE, "%s: key column %s missing", t->name, c->name);
    return 0;
}

/* Rows of an ARRAY table: each valid, no key twice. */
static int check_rows(const struct inv_table *t, const json_t *v, char *err, size_t errlen)
{
    struct item *it = NULL;
    size_t n = 0;
    int rc;
    if (!json_is_array(v))
        return fail(err, errlen, WARD_EPARSE, "%s: not an array", t->name);
    for (size_t i = 0; i < json_array_size(v); i++) {
        rc = inv_row_check(t, json_array_get(v, i), err, errlen);
        if (rc != 0)
            return rc;
    }
    rc = items_build(t, v, 0, &it, &n);
    for (size_t i = 1; rc == 0 && i < n; i++)
        if (strcmp(it[i - 1].key, it[i].key) == 0)
            rc = fail(err, errlen, WARD_EPARSE, "%s: key %.200s appears twice", t->name, it[i].key);
    items_free(it, n);
    return rc;
}

static int check_table(const struct inv_table *t, const json_t *v, char *err, size_t errlen)
{
    if (t->shape == INV_SHAPE_OBJECT)
        return inv_row_check(t, v, err, errlen);
    return check_rows(t, v, err, errlen);
}

int inv_sections_check(const json_t *doc, char *err, size_t errlen)
{
    const char *k;
    json_t *v;
    if (!json_is_object(doc))
        return fail(err, errlen, WARD_EPARSE, "sections: not an object");
    json_object_foreach((json_t *)(uintptr_t)doc, k, v)
    {
        const struct inv_section *s = inv_section_find(k);
        const char *mk;
        json_t *mv;
        int rc;
        if (!s)
            return fail(err, errlen, WARD_EPARSE, "unknown section \"%.64s\"", k);
        if (!s->tables[0]->member) {
            rc = check_table(s->tables[0], v, err, errlen);
            if (rc != 0)
                return rc;
            continue;
        }
        if (!json_is_object(v))
            return fail(err, errlen, WARD_EPARSE, "%s: not an object", k);
        json_object_foreach(v, mk, mv)
        {
            const struct inv_table *t = NULL;
            for (size_t i = 0; s->tables[i]; i++)
                if (strcmp(s->tables[i]->member, mk) == 0)
                    t = s->tables[i];
            if (!t)
                return fail(err, errlen, WARD_EPARSE, "%s: unknown member \"%.64s\"", k, mk);
            rc = check_table(t, mv, err, errlen);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* ---- apply ----------------------------------------------------------------------------- */

static int key_text_of_value(const struct inv_table *t, const json_t *key, char **out, char *err,
                             size_t errlen)
{
    struct ward_buf b;
    size_t i = 0;
    int rc;
    if (!json_is_array(key))
        return fail(err, errlen, WARD_EPARSE, "%s: a removed key is not an array", t->name);
    for (const struct inv_column *c = t->columns; c->name; c++) {
        if (!(c->flags & INV_COL_KEY))
            continue;
        if (i >= json_array_size(key) || !type_ok(c->type, json_array_get(key, i)))
            return fail(err, errlen, WARD_EPARSE, "%s: removed key does not match the key columns",
                        t->name);
        i++;
    }
    if (i != json_array_size(key))
        return fail(err, errlen, WARD_EPARSE, "%s: removed key has extra values", t->name);
    ward_buf_init(&b, KEY_MAX);
    rc = ward_json_dump_buf(key, 0, &b);
    if (rc == 0)
        rc = text_of(&b, out);
    ward_buf_release(&b);
    return rc;
}

static struct item *find_item(struct item *it, size_t n, const char *key)
{
    struct item probe;
    memset(&probe, 0, sizeof(probe));
    probe.key = (char *)(uintptr_t)key;
    return bsearch(&probe, it, n, sizeof(*it), cmp_item_key);
}

static int apply_array(json_t *doc, const struct inv_table *t, json_t *cur, const json_t *ch,
                       char *err, size_t errlen)
{
    const json_t *removed = json_object_get(ch, "removed"),
                 *changed = json_object_get(ch, "changed"), *added = json_object_get(ch, "added");
    struct item *it = NULL, *check = NULL;
    size_t n = 0, nc = 0;
    json_t *next = NULL;
    char *key = NULL;
    int rc;

    rc = items_build(t, cur, 0, &it, &n);
    if (rc != 0)
        return fail(err, errlen, rc, "%s: stored rows unusable", t->name);
    for (size_t i = 0; rc == 0 && i < json_array_size(removed); i++) {
        struct item *f;
        rc = key_text_of_value(t, json_array_get(removed, i), &key, err, errlen);
        if (rc != 0)
            break;
        f = find_item(it, n, key);
        if (!f || f->gone)
            rc = fail(err, errlen, WARD_ESTATE, "%s: removed row %.200s does not exist", t->name,
                      key);
        else
            f->gone = 1;
        ward_free(key);
        key = NULL;
    }
    for (size_t i = 0; rc == 0 && i < json_array_size(changed); i++) {
        json_t *row = json_array_get(changed, i);
        struct ward_buf b;
        struct item *f;
        rc = inv_row_check(t, row, err, errlen);
        if (rc != 0)
            break;
        ward_buf_init(&b, KEY_MAX);
        rc = inv_key_text(t, row, &b);
        f = rc == 0 ? find_item(it, n, b.data) : NULL;
        if (rc == 0 && (!f || f->gone))
            rc = fail(err, errlen, WARD_ESTATE, "%s: changed row %.200s does not exist", t->name,
                      b.data);
        if (rc == 0)
            f->row = row;
        ward_buf_release(&b);
    }
    next = rc == 0 ? json_array() : NULL;
    if (rc == 0 && !next)
        rc = WARD_ENOMEM;
    /* Rows come out in key-text order; the hash does not depend on the order. */
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!it[i].gone && json_array_append(next, it[i].row) != 0)
            rc = WARD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < json_array_size(added); i++) {
        json_t *row = json_array_get(added, i);
        rc = inv_row_check(t, row, err, errlen);
        if (rc == 0 && json_array_append(next, row) != 0)
            rc = WARD_ENOMEM;
    }
    /* An added row whose key exists (or is added twice) does not fit. */
    if (rc == 0 && json_array_size(added) > 0) {
        rc = items_build(t, next, 0, &check, &nc);
        for (size_t i = 1; rc == 0 && i < nc; i++)
            if (strcmp(check[i - 1].key, check[i].key) == 0)
                rc = fail(err, errlen, WARD_ESTATE, "%s: added row %.200s exists", t->name,
                          check[i].key);
        items_free(check, nc);
    }
    items_free(it, n);
    if (rc != 0) {
        json_decref(next);
        return rc;
    }
    return table_put(doc, t, next);
}

static int apply_one(json_t *doc, const char *name, const json_t *ch, char *err, size_t errlen)
{
    static const char *const allowed[] = {"present", "added", "removed", "changed", NULL};
    const struct inv_table *t = inv_table_find(name);
    const json_t *present, *added, *removed, *changed;
    json_t *cur;
    const char *k;
    json_t *v;

    if (!t)
        return fail(err, errlen, WARD_EPARSE, "changes: unknown table \"%.64s\"", name);
    if (!json_is_object(ch))
        return fail(err, errlen, WARD_EPARSE, "changes.%s: not an object", name);
    json_object_foreach((json_t *)(uintptr_t)ch, k, v)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= strcmp(*a, k) == 0;
        if (!ok)
            return fail(err, errlen, WARD_EPARSE, "changes.%s: unknown member \"%.64s\"", name, k);
        if (strcmp(k, "present") == 0 ? !json_is_boolean(v) : !json_is_array(v))
            return fail(err, errlen, WARD_EPARSE, "changes.%s.%s: wrong type", name, k);
    }
    present = json_object_get(ch, "present");
    added = json_object_get(ch, "added");
    removed = json_object_get(ch, "removed");
    changed = json_object_get(ch, "changed");
    cur = inv_doc_table_get(doc, t, 0);
    if (cur && !table_shape_ok(t, cur))
        return fail(err, errlen, WARD_EPARSE, "%s: stored table has the wrong shape", name);

    if (json_is_false(present)) {
        if (added || removed || changed)
            return fail(err, errlen, WARD_EPARSE, "changes.%s: rows for a table that is gone",
                        name);
        if (!cur)
            return fail(err, errlen, WARD_ESTATE, "%s: disappears but does not exist", name);
        return table_put(doc, t, NULL);
    }
    if (json_is_true(present)) {
        if (cur)
            return fail(err, errlen, WARD_ESTATE, "%s: appears but exists", name);
        if (json_array_size(removed) || json_array_size(changed))
            return fail(err, errlen, WARD_ESTATE, "changes.%s: rows changed in a new table", name);
        if (t->shape == INV_SHAPE_OBJECT) {
            json_t *row = json_array_get(added, 0);
            int rc;
            if (json_array_size(added) != 1)
                return fail(err, errlen, WARD_EPARSE,
                            "changes.%s: a new single-row table "
                            "needs exactly one added row",
                            name);
            rc = inv_row_check(t, row, err, errlen);
            return rc ? rc : table_put(doc, t, json_incref(row));
        }
        cur = json_array();
        if (!cur)
            return WARD_ENOMEM;
        if (table_put(doc, t, cur) != 0)
            return WARD_ENOMEM;
    } else if (!cur) {
        return fail(err, errlen, WARD_ESTATE, "%s: changed but does not exist", name);
    }
    if (t->shape == INV_SHAPE_OBJECT) {
        json_t *row = json_array_get(changed, 0);
        int rc;
        if (json_array_size(added) || json_array_size(removed) || json_array_size(changed) != 1)
            return fail(err, errlen, WARD_EPARSE,
                        "changes.%s: a single-row table takes exactly one changed row", name);
        rc = inv_row_check(t, row, err, errlen);
        return rc ? rc : table_put(doc, t, json_incref(row));
    }
    return apply_array(doc, t, cur, ch, err, errlen);
}

int inv_delta_apply(json_t *doc, const json_t *changes, char *err, size_t errlen)
{
    const char *k;
    json_t *v;
    if (!json_is_object(doc))
        return WARD_EINVAL;
    if (!json_is_object(changes))
        return fail(err, errlen, WARD_EPARSE, "changes: not an object");
    json_object_foreach((json_t *)(uintptr_t)changes, k, v)
    {
        int rc = apply_one(doc, k, v, err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- row order ------------------------------------------------------------------------- */

struct sort_item {
    const struct inv_table *t;
    json_t *row;
};

/* The collectors' order (inventory/src/doc.c): missing first, then by JSON type, strings
 * bytewise, numbers by value. */
static int cmp_value(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    if (json_typeof(a) != json_typeof(b))
        return (int)json_typeof(a) - (int)json_typeof(b);
    if (json_is_string(a))
        return strcmp(json_string_value(a), json_string_value(b));
    if (json_is_integer(a)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return (x > y) - (x < y);
    }
    if (json_is_real(a)) {
        double x = json_real_value(a), y = json_real_value(b);
        return (x > y) - (x < y);
    }
    return 0;
}

static int cmp_sort_items(const void *pa, const void *pb)
{
    const struct sort_item *a = pa, *b = pb;
    for (const struct inv_column *c = a->t->columns; c->name; c++) {
        int r;
        if (!(c->flags & INV_COL_KEY))
            continue;
        r = cmp_value(json_object_get(a->row, c->name), json_object_get(b->row, c->name));
        if (r)
            return r;
    }
    return 0;
}

int inv_table_sort(const struct inv_table *t, json_t *rows)
{
    size_t n = json_array_size(rows);
    struct sort_item *items;
    int rc = 0;
    if (!t || !json_is_array(rows))
        return WARD_EINVAL;
    if (n < 2)
        return 0;
    items = ward_calloc(n, sizeof(*items));
    if (!items)
        return WARD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        items[i].t = t;
        items[i].row = json_incref(json_array_get(rows, i));
    }
    qsort(items, n, sizeof(*items), cmp_sort_items);
    json_array_clear(rows);
    for (size_t i = 0; i < n; i++)
        if (rc == 0 && json_array_append(rows, items[i].row) != 0)
            rc = WARD_ENOMEM;
    for (size_t i = 0; i < n; i++)
        json_decref(items[i].row);
    ward_free(items);
    return rc;
}
