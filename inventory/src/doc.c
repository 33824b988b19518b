/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The inventory document: runs the OS's collectors one after another (each with its own
 * time budget, checked by the collector between rows), records failures in "collection"
 * instead of failing the whole run, sorts and de-duplicates rows by their key columns so
 * two runs on an unchanged machine give identical text, and offers the schema-driven
 * views a delta needs (row keys, row walks) plus validation of a whole document.
 */
#define WARD_LOG_TAG "inv"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "collector.h"
#include "inventory/inventory.h"
#include "ward/alloc.h"
#include "ward/config.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"

struct inv_doc {
    json_t *root;
};

/* ---- collector context ---- */

int inv_ctx_expired(struct inv_ctx *ctx)
{
    ctx->checks++;
    return uv_hrtime() >= ctx->deadline_ns;
}

int inv_ctx_fail(struct inv_ctx *ctx, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->msg, sizeof(ctx->msg), fmt, ap);
    va_end(ap);
    return err;
}

static json_t *new_table_value(const struct inv_table *t)
{
    return t->shape == INV_SHAPE_ARRAY ? json_array() : json_object();
}

json_t *inv_ctx_table(struct inv_ctx *ctx, const struct inv_table *t)
{
    json_t *v;
    if (!t->member) {
        if (!ctx->value)
            ctx->value = new_table_value(t);
        return ctx->value;
    }
    if (!ctx->value) {
        ctx->value = json_object();
        if (!ctx->value)
            return NULL;
    }
    v = json_object_get(ctx->value, t->member);
    if (v)
        return v;
    v = new_table_value(t);
    if (!v || json_object_set_new(ctx->value, t->member, v) != 0)
        return NULL;
    return v;
}

json_t *inv_ctx_new_row(struct inv_ctx *ctx, const struct inv_table *t)
{
    json_t *arr = inv_ctx_table(ctx, t), *row;
    if (!arr)
        return NULL;
    row = json_object();
    if (!row || json_array_append_new(arr, row) != 0)
        return NULL;
    return row;
}

int inv_collect_enotsup(struct inv_ctx *ctx)
{
    return inv_ctx_fail(ctx, WARD_ENOTSUP, "not collected on %s yet", WARD_OS_NAME);
}

/* ---- row values ---- */

int inv_text_clean(const char *s, size_t n)
{
    size_t i = 0;
    if (n > INV_VALUE_MAX)
        return 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t k;
        unsigned cp;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + k >= n)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            unsigned char d = (unsigned char)s[i + j];
            if ((d & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (d & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

int inv_row_strn(json_t *row, const char *col, const char *s, size_t n)
{
    json_t *v;
    if (!s || !inv_text_clean(s, n))
        return 0;
    v = json_stringn_nocheck(s, n);
    if (!v || json_object_set_new_nocheck(row, col, v) != 0)
        return WARD_ENOMEM;
    return 0;
}

int inv_row_str(json_t *row, const char *col, const char *s)
{
    return s ? inv_row_strn(row, col, s, strlen(s)) : 0;
}

int inv_row_int(json_t *row, const char *col, long long v)
{
    json_t *j = json_integer(v);
    if (!j || json_object_set_new_nocheck(row, col, j) != 0)
        return WARD_ENOMEM;
    return 0;
}

int inv_row_bool(json_t *row, const char *col, int v)
{
    if (json_object_set_new_nocheck(row, col, json_boolean(v)) != 0)
        return WARD_ENOMEM;
    return 0;
}

int inv_row_real(json_t *row, const char *col, double v)
{
    json_t *j = json_real(v);
    if (!j || json_object_set_new_nocheck(row, col, j) != 0)
        return WARD_ENOMEM;
    return 0;
}

/* ---- ordering by key columns ---- */

/* Missing sorts first; values of different JSON types by type. */
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
    return 0; /* true/false/null: equal within a type */
}

static int cmp_rows(const struct inv_table *t, const json_t *a, const json_t *b)
{
    for (const struct inv_column *c = t->columns; c->name; c++) {
        int r;
        if (!(c->flags & INV_COL_KEY))
            continue;
        r = cmp_value(json_object_get(a, c->name), json_object_get(b, c->name));
        if (r)
            return r;
    }
    return 0;
}

struct sort_item {
    const struct inv_table *t;
    json_t *row;
    size_t pos; /* original position: equal keys keep collection order (first wins) */
};

static int cmp_items(const void *pa, const void *pb)
{
    const struct sort_item *a = pa, *b = pb;
    int r = cmp_rows(a->t, a->row, b->row);
    if (r)
        return r;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

static int has_keys(const struct inv_table *t, const json_t *row)
{
    for (const struct inv_column *c = t->columns; c->name; c++)
        if ((c->flags & INV_COL_KEY) && !json_object_get(row, c->name))
            return 0;
    return 1;
}

/* Sorts arr by key, dropping rows without their keys and later duplicates. */
static int sort_table(const struct inv_table *t, json_t *arr, size_t *dropped)
{
    size_t n = json_array_size(arr), m = 0;
    struct sort_item *items;
    int rc = 0;

    *dropped = 0;
    if (n == 0)
        return 0;
    /* Fast path: most sources come sorted already (dpkg writes its status by name). */
    for (m = 1; m < n; m++) {
        const json_t *a = json_array_get(arr, m - 1), *b = json_array_get(arr, m);
        if (!json_is_object(a) || !json_is_object(b) || !has_keys(t, a) || !has_keys(t, b) ||
            cmp_rows(t, a, b) >= 0)
            break;
    }
    if (m == n && json_is_object(json_array_get(arr, 0)) && has_keys(t, json_array_get(arr, 0)))
        return 0;
    m = 0;
    items = ward_calloc(n, sizeof(*items));
    if (!items)
        return WARD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_array_get(arr, i);
        if (!json_is_object(row) || !has_keys(t, row)) {
            (*dropped)++;
            continue;
        }
        items[m].t = t;
        items[m].row = json_incref(row);
        items[m].pos = i;
        m++;
    }
    qsort(items, m, sizeof(*items), cmp_items);
    json_array_clear(arr);
    for (size_t i = 0; i < m; i++) {
        if (i > 0 && cmp_rows(t, items[i - 1].row, items[i].row) == 0) {
            (*dropped)++;
            continue;
        }
        if (rc == 0 && json_array_append(arr, items[i].row) != 0)
            rc = WARD_ENOMEM;
    }
    for (size_t i = 0; i < m; i++)
        json_decref(items[i].row);
    ward_free(items);
    return rc;
}

/* Gives every table of a kept section its value (empty when the collector found nothing)
 * and puts rows in key order. */
static int finish_section(const struct inv_section *s, struct inv_ctx *ctx, json_t *dropped)
{
    for (size_t i = 0; s->tables[i]; i++) {
        const struct inv_table *t = s->tables[i];
        json_t *v = inv_ctx_table(ctx, t);
        size_t nd = 0;
        int rc;
        if (!v)
            return WARD_ENOMEM;
        if (t->shape != INV_SHAPE_ARRAY)
            continue;
        rc = sort_table(t, v, &nd);
        if (rc != 0)
            return rc;
        if (nd) {
            WARD_DEBUG("%s: dropped %zu rows without keys or with duplicate keys", t->name, nd);
            if (json_object_set_new(dropped, t->name, json_integer((json_int_t)nd)) != 0)
                return WARD_ENOMEM;
        }
    }
    return 0;
}

/* ---- collection ---- */

static int wanted(const struct inv_options *o, const struct inv_collector *c)
{
    if ((o->flags & INV_F_CHEAP_ONLY) && !c->cheap)
        return 0;
    if (!o->sections)
        return 1;
    for (size_t i = 0; o->sections[i]; i++)
        if (strcmp(o->sections[i], c->name) == 0)
            return 1;
    return 0;
}

static int set_error(json_t *errors, const char *section, int err, const char *msg, int partial)
{
    json_t *e = json_pack("{s:s, s:s, s:b}", "code", ward_err_name(err), "message",
                          msg && msg[0] ? msg : ward_strerror(err), "partial", partial);
    if (!e || json_object_set_new(errors, section, e) != 0)
        return WARD_ENOMEM;
    return 0;
}

static int run_one(const struct inv_options *o, const struct inv_collector *c, json_t *root,
                   json_t *errors, json_t *durations, json_t *dropped)
{
    struct inv_ctx ctx;
    uint64_t t0 = uv_hrtime(), budget;
    unsigned scale = o->budget_scale_pct ? o->budget_scale_pct : 100;
    int rc, keep;

    memset(&ctx, 0, sizeof(ctx));
    ctx.root = o->root && o->root[0] ? o->root : "/";
    ctx.live = strcmp(ctx.root, "/") == 0;
    ctx.collector = c;
    budget = (uint64_t)c->budget_ms * scale / 100 * 1000000u;
    ctx.deadline_ns = (o->flags & INV_F_ZERO_BUDGET) ? t0 : t0 + budget;

    rc = c->collect(&ctx);
    if (rc == WARD_ENOMEM)
        goto out;
    keep = rc == 0 || ctx.partial || rc == WARD_ETIMEDOUT;
    if (rc != 0) {
        WARD_DEBUG("%s: %s (%s)", c->name, ctx.msg[0] ? ctx.msg : ward_strerror(rc),
                   ward_err_name(rc));
        if (set_error(errors, c->name, rc, ctx.msg, keep) != 0) {
            rc = WARD_ENOMEM;
            goto out;
        }
    }
    rc = 0;
    if (keep) {
        rc = finish_section(c->section, &ctx, dropped);
        if (rc != 0)
            goto out;
        if (json_object_set(root, c->name, ctx.value) != 0) {
            rc = WARD_ENOMEM;
            goto out;
        }
    }
    if (json_object_set_new(durations, c->name,
                            json_real((double)((uv_hrtime() - t0) / 1000u) / 1000.0)) != 0)
        rc = WARD_ENOMEM;
out:
    json_decref(ctx.value);
    return rc;
}

int inv_collect(const struct inv_options *o, struct inv_doc **out)
{
    static const struct inv_options defaults = {0};
    struct inv_doc *d = NULL;
    json_t *coll = NULL, *errors, *durations, *dropped;
    uint64_t t0 = uv_hrtime();
    int rc = WARD_ENOMEM;

    if (!out)
        return WARD_EINVAL;
    *out = NULL;
    if (!o)
        o = &defaults;
    for (size_t i = 0; o->sections && o->sections[i]; i++) {
        int found = 0;
        for (size_t k = 0; inv_registry[k]; k++)
            if (strcmp(inv_registry[k]->name, o->sections[i]) == 0)
                found = 1;
        if (!found)
            return WARD_EINVAL;
    }
    d = ward_calloc(1, sizeof(*d));
    if (!d)
        return WARD_ENOMEM;
    d->root = json_object();
    coll = json_pack("{s:s, s:s, s:{}, s:{}, s:{}}", "agent_version", WARD_VERSION, "os",
                     WARD_OS_NAME, "errors", "duration_ms", "dropped_rows");
    if (!d->root || !coll)
        goto out;
    errors = json_object_get(coll, "errors");
    durations = json_object_get(coll, "duration_ms");
    dropped = json_object_get(coll, "dropped_rows");
    if (o->root && o->root[0] && strcmp(o->root, "/") != 0 &&
        json_object_set_new(coll, "root", json_string(o->root)) != 0)
        goto out;

    /* Schema order, whatever order the registry lists collectors in. */
    for (size_t s = 0; inv_sections[s]; s++) {
        for (size_t k = 0; inv_registry[k]; k++) {
            const struct inv_collector *c = inv_registry[k];
            if (c->section != inv_sections[s] || !wanted(o, c))
                continue;
            rc = run_one(o, c, d->root, errors, durations, dropped);
            if (rc != 0)
                goto out;
        }
    }
    rc = WARD_ENOMEM;
    if (json_object_set_new(coll, "total_ms",
                            json_real((double)((uv_hrtime() - t0) / 1000u) / 1000.0)) != 0)
        goto out;
    if (json_object_set(d->root, "collection", coll) != 0)
        goto out;
    rc = 0;
    *out = d;
    d = NULL;
out:
    json_decref(coll);
    inv_doc_free(d);
    return rc;
}

void inv_doc_free(struct inv_doc *d)
{
    if (!d)
        return;
    json_decref(d->root);
    ward_free(d);
}

const json_t *inv_doc_json(const struct inv_doc *d)
{
    return d ? d->root : NULL;
}

const json_t *inv_doc_section(const struct inv_doc *d, const char *section)
{
    if (!d || !section || strcmp(section, "collection") == 0)
        return NULL;
    return json_object_get(d->root, section);
}

int inv_doc_section_error(const struct inv_doc *d, const char *section, const char **message,
                          int *partial)
{
    json_t *e;
    const char *code;
    if (message)
        *message = NULL;
    if (partial)
        *partial = 0;
    if (!d || !section)
        return WARD_EINVAL;
    e = json_object_get(json_object_get(json_object_get(d->root, "collection"), "errors"), section);
    if (!e)
        return 0;
    if (message)
        *message = json_string_value(json_object_get(e, "message"));
    if (partial)
        *partial = json_is_true(json_object_get(e, "partial"));
    code = json_string_value(json_object_get(e, "code"));
#define INV_ERR_MATCH(name, num, text)                                                             \
    if (code && strcmp(code, "WARD_" #name) == 0)                                                  \
        return num;
    WARD_ERRORS(INV_ERR_MATCH)
#undef INV_ERR_MATCH
    return WARD_EIO;
}

int inv_doc_dump(const struct inv_doc *d, unsigned int json_flags, char **out, size_t *len)
{
    if (!d || !out)
        return WARD_EINVAL;
    return ward_json_dumps(d->root, json_flags, out, len);
}

/* ---- tables, keys, walks ---- */

int inv_doc_table(const json_t *doc, const struct inv_table *t, const json_t **value)
{
    const json_t *sec, *v;
    if (!doc || !t || !value)
        return WARD_EINVAL;
    *value = NULL;
    sec = json_object_get(doc, t->section);
    if (!sec)
        return WARD_ENOENT;
    v = t->member ? json_object_get(sec, t->member) : sec;
    if (!v)
        return WARD_ENOENT;
    *value = v;
    return 0;
}

int inv_row_key(const struct inv_table *t, const json_t *row, char **out)
{
    json_t *arr;
    int rc = WARD_ENOMEM;
    if (!t || !row || !out)
        return WARD_EINVAL;
    *out = NULL;
    arr = json_array();
    if (!arr)
        return WARD_ENOMEM;
    for (const struct inv_column *c = t->columns; c->name; c++) {
        json_t *v;
        if (!(c->flags & INV_COL_KEY))
            continue;
        v = json_object_get(row, c->name);
        if (json_array_append(arr, v ? v : json_null()) != 0)
            goto out;
    }
    rc = ward_json_dumps(arr, 0, out, NULL);
out:
    json_decref(arr);
    return rc;
}

int inv_doc_foreach_row(const json_t *doc, inv_row_cb cb, void *ctx)
{
    if (!doc || !cb)
        return WARD_EINVAL;
    for (size_t s = 0; inv_sections[s]; s++) {
        for (size_t i = 0; inv_sections[s]->tables[i]; i++) {
            const struct inv_table *t = inv_sections[s]->tables[i];
            const json_t *v;
            if (inv_doc_table(doc, t, &v) != 0)
                continue;
            if (t->shape == INV_SHAPE_OBJECT) {
                int r = cb(t, "[]", v, ctx);
                if (r)
                    return r;
                continue;
            }
            for (size_t k = 0; k < json_array_size(v); k++) {
                const json_t *row = json_array_get(v, k);
                char *key = NULL;
                int r = inv_row_key(t, row, &key);
                if (r == 0)
                    r = cb(t, key, row, ctx);
                ward_free(key);
                if (r)
                    return r;
            }
        }
    }
    return 0;
}

/* ---- validation ---- */

static int verr(char *err, size_t errlen, const char *fmt, ...) WARD_PRINTF(3, 4);
static int verr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return WARD_EPARSE;
}

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

static int validate_row(const struct inv_table *t, const json_t *row, size_t idx, char *err,
                        size_t errlen)
{
    const char *k;
    const json_t *v;
    if (!json_is_object(row))
        return verr(err, errlen, "%s[%zu]: not an object", t->name, idx);
    json_object_foreach((json_t *)(uintptr_t)row, k, v)
    {
        const struct inv_column *c = inv_table_column(t, k);
        if (!c)
            return verr(err, errlen, "%s[%zu]: unknown column \"%s\"", t->name, idx, k);
        if (!type_ok(c->type, v))
            return verr(err, errlen, "%s[%zu].%s: %s, want %s", t->name, idx, k,
                        ward_json_type_name(v), inv_type_name(c->type));
    }
    if (t->shape == INV_SHAPE_ARRAY && !has_keys(t, row))
        return verr(err, errlen, "%s[%zu]: key column missing", t->name, idx);
    return 0;
}

static int validate_table(const struct inv_table *t, const json_t *v, char *err, size_t errlen)
{
    if (t->shape == INV_SHAPE_OBJECT)
        return validate_row(t, v, 0, err, errlen);
    if (!json_is_array(v))
        return verr(err, errlen, "%s: not an array", t->name);
    for (size_t i = 0; i < json_array_size(v); i++) {
        int rc = validate_row(t, json_array_get(v, i), i, err, errlen);
        if (rc)
            return rc;
        if (i > 0 && cmp_rows(t, json_array_get(v, i - 1), json_array_get(v, i)) >= 0)
            return verr(err, errlen, "%s[%zu]: rows not sorted by key or key repeated", t->name, i);
    }
    return 0;
}

static int validate_collection(const json_t *c, char *err, size_t errlen)
{
    const char *k;
    json_t *v;
    if (!json_is_object(c) || !json_is_string(json_object_get(c, "agent_version")) ||
        !json_is_object(json_object_get(c, "errors")) ||
        !json_is_object(json_object_get(c, "duration_ms")))
        return verr(err, errlen, "collection: malformed");
    json_object_foreach(json_object_get(c, "errors"), k, v)
    {
        if (!inv_section_find(k))
            return verr(err, errlen, "collection.errors: unknown section \"%s\"", k);
        if (!json_is_string(json_object_get(v, "code")) ||
            !json_is_string(json_object_get(v, "message")) ||
            !json_is_boolean(json_object_get(v, "partial")))
            return verr(err, errlen, "collection.errors.%s: malformed", k);
    }
    json_object_foreach(
        json_object_get(c, "duration_ms"), k,
        v) if (!json_is_number(v)) return verr(err, errlen,
                                               "collection.duration_ms.%s: not a number", k);
    return 0;
}

int inv_validate(const json_t *doc, char *err, size_t errlen)
{
    const char *k;
    json_t *v;
    int rc;
    if (!json_is_object(doc))
        return verr(err, errlen, "document is not an object");
    if (!json_object_get(doc, "collection"))
        return verr(err, errlen, "no collection object");
    json_object_foreach((json_t *)(uintptr_t)doc, k, v)
    {
        const struct inv_section *s;
        if (strcmp(k, "collection") == 0) {
            rc = validate_collection(v, err, errlen);
            if (rc)
                return rc;
            continue;
        }
        s = inv_section_find(k);
        if (!s)
            return verr(err, errlen, "unknown section \"%s\"", k);
        if (s->tables[0] && !s->tables[0]->member) {
            rc = validate_table(s->tables[0], v, err, errlen);
            if (rc)
                return rc;
            continue;
        }
        if (!json_is_object(v))
            return verr(err, errlen, "%s: not an object", k);
        {
            const char *mk;
            json_t *mv;
            json_object_foreach(v, mk, mv)
            {
                const struct inv_table *t = NULL;
                for (size_t i = 0; s->tables[i]; i++)
                    if (strcmp(s->tables[i]->member, mk) == 0)
                        t = s->tables[i];
                if (!t)
                    return verr(err, errlen, "%s: unknown member \"%s\"", k, mk);
                rc = validate_table(t, mv, err, errlen);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}
