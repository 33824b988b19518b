/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON helpers on jansson. Jansson does the parsing; this file adds the limits (size, a
 * linear depth pre-scan that runs before jansson sees the input) and Ward's own error
 * reporting: when jansson stops, a small scanner re-reads the prefix of the input up to the
 * error position, tracking the container stack, the current key and array index, and turns
 * that into a JSON path. Jansson's allocator is routed through ward_malloc with a
 * per-thread failure counter, because jansson reports some allocation failures as syntax
 * errors (or not at all, when the lexer drops a byte): the counter is the ground truth.
 */
#define WARD_LOG_TAG "json"

#include "ward/json.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

/* Jansson refuses nesting beyond its own JSON_PARSER_MAX_DEPTH (2048). */
#define JANSSON_MAX_DEPTH 2048
/* The path scanner keeps this many containers (deeper ones show as "..."), and this much of
 * each key. Fixed sizes: error reporting must not allocate. */
#define SCAN_FRAMES 64
#define SCAN_KEY 48

static _Thread_local unsigned long json_alloc_failures;

static void *json_alloc(size_t n)
{
    void *p = ward_malloc(n);
    if (!p)
        json_alloc_failures++;
    return p;
}

void ward_json_init(void)
{
    json_set_alloc_funcs(json_alloc, ward_free);
    /* Seeding lazily from several threads races in old jansson; do it here, once. */
    json_object_seed(0);
}

/* ---- path building ---------------------------------------------------------------- */

struct pathbuf {
    char *s;
    size_t cap;
    size_t len;
    int trunc;
};

static void pb_init(struct pathbuf *p, char *out, size_t outlen)
{
    p->s = out;
    p->cap = outlen;
    p->len = 0;
    p->trunc = 0;
    if (outlen)
        out[0] = '\0';
}

static void pb_put(struct pathbuf *p, const char *s, size_t n)
{
    if (p->cap == 0)
        return;
    if (n > p->cap - 1 - p->len) {
        n = p->cap - 1 - p->len;
        p->trunc = 1;
    }
    memcpy(p->s + p->len, s, n);
    p->len += n;
    p->s[p->len] = '\0';
}

static void pb_putc(struct pathbuf *p, char c)
{
    pb_put(p, &c, 1);
}

static void pb_finish(struct pathbuf *p)
{
    if (p->trunc && p->cap >= 4) {
        /* Do not leave half a UTF-8 sequence before the ellipsis. */
        size_t end = p->cap - 4;
        while (end > 0 && ((unsigned char)p->s[end] & 0xC0) == 0x80)
            end--;
        memcpy(p->s + end, "...", 4);
        p->len = end + 3;
    }
}

static int is_ident(const char *k, size_t n)
{
    if (n == 0 || !((k[0] >= 'A' && k[0] <= 'Z') || (k[0] >= 'a' && k[0] <= 'z') || k[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++) {
        char c = k[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

/* raw: the key as it appears between the quotes in JSON text (escapes kept as they are);
 * otherwise a decoded key that needs escaping for the bracket form. */
static void pb_key(struct pathbuf *p, const char *key, size_t n, int raw)
{
    if (is_ident(key, n)) {
        pb_putc(p, '.');
        pb_put(p, key, n);
        return;
    }
    pb_put(p, "[\"", 2);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        char esc[8];
        if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            pb_put(p, esc, 6);
        } else if (!raw && (c == '"' || c == '\\')) {
            esc[0] = '\\';
            esc[1] = (char)c;
            pb_put(p, esc, 2);
        } else {
            pb_putc(p, (char)c);
        }
    }
    pb_put(p, "\"]", 2);
}

static void pb_index(struct pathbuf *p, size_t index)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "[%zu]", index);
    if (n > 0)
        pb_put(p, tmp, (size_t)n);
}

void ward_json_path_key(char *out, size_t outlen, const char *parent, const char *key)
{
    struct pathbuf p;
    pb_init(&p, out, outlen);
    pb_put(&p, parent ? parent : "$", strlen(parent ? parent : "$"));
    pb_key(&p, key ? key : "", key ? strlen(key) : 0, 0);
    pb_finish(&p);
}

void ward_json_path_index(char *out, size_t outlen, const char *parent, size_t index)
{
    struct pathbuf p;
    pb_init(&p, out, outlen);
    pb_put(&p, parent ? parent : "$", strlen(parent ? parent : "$"));
    pb_index(&p, index);
    pb_finish(&p);
}

/* ---- prefix scanner: where in the document is byte offset `end`? --------------------- */

enum { ST_KEY_EXPECTED, ST_IN_KEY, ST_KEY_DONE };

struct scan_frame {
    char kind; /* '{' or '[' */
    int state; /* objects: ST_* */
    size_t index;
    size_t keylen;
    char key[SCAN_KEY];
};

static void path_at(const char *buf, size_t end, char *out, size_t outlen)
{
    struct scan_frame st[SCAN_FRAMES];
    size_t depth = 0; /* may exceed SCAN_FRAMES; frames past it are not recorded */
    int in_str = 0, esc = 0;
    struct pathbuf p;

    for (size_t i = 0; i < end; i++) {
        char c = buf[i];
        struct scan_frame *top = depth && depth <= SCAN_FRAMES ? &st[depth - 1] : NULL;
        if (in_str) {
            int keying = top && top->kind == '{' && top->state == ST_IN_KEY;
            if (esc) {
                esc = 0;
            } else if (c == '\\') {
                esc = 1;
            } else if (c == '"') {
                in_str = 0;
                if (keying)
                    top->state = ST_KEY_DONE;
                continue;
            }
            if (keying && top->keylen < SCAN_KEY)
                top->key[top->keylen++] = c;
            continue;
        }
        switch (c) {
        case '"':
            in_str = 1;
            if (top && top->kind == '{' && top->state == ST_KEY_EXPECTED) {
                top->state = ST_IN_KEY;
                top->keylen = 0;
            }
            break;
        case '{':
        case '[':
            depth++;
            if (depth <= SCAN_FRAMES) {
                st[depth - 1].kind = c;
                st[depth - 1].state = ST_KEY_EXPECTED;
                st[depth - 1].index = 0;
                st[depth - 1].keylen = 0;
            }
            break;
        case '}':
        case ']':
            if (depth)
                depth--;
            break;
        case ',':
            if (top && top->kind == '[')
                top->index++;
            else if (top)
                top->state = ST_KEY_EXPECTED;
            break;
        default:
            break;
        }
    }

    pb_init(&p, out, outlen);
    pb_putc(&p, '$');
    for (size_t d = 0; d < depth && d < SCAN_FRAMES; d++) {
        const struct scan_frame *f = &st[d];
        if (f->kind == '[') {
            pb_index(&p, f->index);
        } else if (f->state != ST_KEY_EXPECTED) {
            size_t n = f->keylen;
            /* A key cut at SCAN_KEY bytes must not end inside a UTF-8 sequence. */
            if (n == SCAN_KEY) {
                while (n > 0 && ((unsigned char)f->key[n - 1] & 0xC0) == 0x80)
                    n--;
                if (n > 0 && ((unsigned char)f->key[n - 1] & 0xC0) == 0xC0)
                    n--;
            }
            pb_key(&p, f->key, n, 1);
        }
    }
    if (depth > SCAN_FRAMES)
        pb_put(&p, "...", 3);
    pb_finish(&p);
}

/* Line and column (1-based, columns in UTF-8 characters) of byte offset pos. */
static void locate(const char *buf, size_t pos, int *line, int *column)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < pos; i++) {
        unsigned char b = (unsigned char)buf[i];
        if (b == '\n') {
            l++;
            c = 1;
        } else if ((b & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *column = c;
}

static void err_clear(struct ward_json_error *err)
{
    if (!err)
        return;
    err->line = 0;
    err->column = 0;
    err->position = 0;
    err->path[0] = '$';
    err->path[1] = '\0';
    err->text[0] = '\0';
}

__attribute__((format(printf, 4, 5))) static void
err_at(struct ward_json_error *err, const char *buf, size_t pos, const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return;
    locate(buf, pos, &err->line, &err->column);
    err->position = pos;
    path_at(buf, pos, err->path, sizeof(err->path));
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
}

/* Offset of the first container opening past max_depth, or len if there is none. */
static size_t depth_scan(const char *buf, size_t len, int max_depth)
{
    int depth = 0, in_str = 0, esc = 0;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return i;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return len;
}

int ward_json_loadb(const char *buf, size_t len, const struct ward_json_limits *limits,
                    json_t **out, struct ward_json_error *err)
{
    size_t max_bytes = WARD_JSON_DEFAULT_MAX_BYTES;
    int max_depth = WARD_JSON_DEFAULT_MAX_DEPTH;
    json_error_t jerr;
    json_t *j = NULL;
    size_t where, end;
    int rc = 0;

    *out = NULL;
    err_clear(err);
    if (!buf && len)
        return WARD_EINVAL;
    if (limits && limits->max_bytes)
        max_bytes = limits->max_bytes;
    if (limits && limits->max_depth > 0)
        max_depth = limits->max_depth < JANSSON_MAX_DEPTH ? limits->max_depth : JANSSON_MAX_DEPTH;

    if (len > max_bytes) {
        if (err) {
            err->position = max_bytes;
            snprintf(err->text, sizeof(err->text), "document is %zu bytes, limit is %zu", len,
                     max_bytes);
        }
        rc = WARD_ETOOBIG;
        goto out;
    }
    where = depth_scan(buf, len, max_depth);
    if (where < len) {
        err_at(err, buf, where, "nesting deeper than %d levels", max_depth);
        rc = WARD_EDEPTH;
        goto out;
    }

    json_alloc_failures = 0;
    j = json_loadb(buf ? buf : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (json_alloc_failures) {
        rc = WARD_ENOMEM;
        if (err)
            snprintf(err->text, sizeof(err->text), "out of memory");
        goto out;
    }
    if (!j) {
        switch (json_error_code(&jerr)) {
        case json_error_duplicate_key:
            rc = WARD_EDUP;
            break;
        case json_error_out_of_memory:
            rc = WARD_ENOMEM;
            break;
        case json_error_stack_overflow:
            rc = WARD_EDEPTH;
            break;
        default:
            rc = WARD_EPARSE;
            break;
        }
        if (err) {
            end = jerr.position >= 0 && (size_t)jerr.position <= len ? (size_t)jerr.position : len;
            /* Jansson's position is past the token it stopped at; a closer or comma there
             * must not pop the container the error is in. */
            if (end > 0 && (buf[end - 1] == '}' || buf[end - 1] == ']' || buf[end - 1] == ','))
                end--;
            path_at(buf, end, err->path, sizeof(err->path));
            err->line = jerr.line;
            err->column = jerr.column;
            err->position = (size_t)(jerr.position >= 0 ? jerr.position : 0);
            snprintf(err->text, sizeof(err->text), "%.*s", (int)(JSON_ERROR_TEXT_LENGTH - 1),
                     jerr.text);
        }
        goto out;
    }
    *out = j;
    j = NULL;
out:
    json_decref(j);
    return rc;
}

/* ---- typed getters -------------------------------------------------------------------- */

const char *ward_json_type_name(const json_t *j)
{
    if (!j)
        return "missing";
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "real";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

__attribute__((format(printf, 4, 5))) static void
err_member(struct ward_json_error *err, const char *path, const char *key, const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return;
    err_clear(err);
    if (key)
        ward_json_path_key(err->path, sizeof(err->path), path, key);
    else
        snprintf(err->path, sizeof(err->path), "%s", path ? path : "$");
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
}

/* 0 with *val set, 1 when an optional member is absent, or a negative error. */
static int member(const json_t *obj, const char *path, const char *key, unsigned flags,
                  json_t **val, struct ward_json_error *err)
{
    if (!json_is_object(obj)) {
        err_member(err, path, NULL, "expected object, got %s", ward_json_type_name(obj));
        return WARD_EPARSE;
    }
    *val = json_object_get(obj, key);
    if (*val)
        return 0;
    if (flags & WARD_JSON_REQUIRED) {
        err_member(err, path, key, "missing required member");
        return WARD_ENOENT;
    }
    return 1;
}

int ward_json_get_str(const json_t *obj, const char *path, const char *key, unsigned flags,
                      const char **out, struct ward_json_error *err)
{
    json_t *v;
    int rc = member(obj, path, key, flags, &v, err);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    if (!json_is_string(v)) {
        err_member(err, path, key, "expected string, got %s", ward_json_type_name(v));
        return WARD_EPARSE;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        err_member(err, path, key, "string contains a NUL character");
        return WARD_EPARSE;
    }
    *out = json_string_value(v);
    return 0;
}

int ward_json_get_int(const json_t *obj, const char *path, const char *key, unsigned flags,
                      long long min, long long max, long long *out, struct ward_json_error *err)
{
    json_t *v;
    long long x;
    int rc = member(obj, path, key, flags, &v, err);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    if (!json_is_integer(v)) {
        err_member(err, path, key, "expected integer, got %s", ward_json_type_name(v));
        return WARD_EPARSE;
    }
    x = (long long)json_integer_value(v);
    if (x < min || x > max) {
        err_member(err, path, key, "%lld is out of range [%lld, %lld]", x, min, max);
        return WARD_EPARSE;
    }
    *out = x;
    return 0;
}

int ward_json_get_bool(const json_t *obj, const char *path, const char *key, unsigned flags,
                       int *out, struct ward_json_error *err)
{
    json_t *v;
    int rc = member(obj, path, key, flags, &v, err);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    if (!json_is_boolean(v)) {
        err_member(err, path, key, "expected boolean, got %s", ward_json_type_name(v));
        return WARD_EPARSE;
    }
    *out = json_is_true(v);
    return 0;
}

static int get_typed(const json_t *obj, const char *path, const char *key, unsigned flags,
                     json_type type, json_t **out, struct ward_json_error *err)
{
    json_t *v;
    int rc = member(obj, path, key, flags, &v, err);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    if (json_typeof(v) != type) {
        err_member(err, path, key, "expected %s, got %s", type == JSON_OBJECT ? "object" : "array",
                   ward_json_type_name(v));
        return WARD_EPARSE;
    }
    *out = v;
    return 0;
}

int ward_json_get_object(const json_t *obj, const char *path, const char *key, unsigned flags,
                         json_t **out, struct ward_json_error *err)
{
    return get_typed(obj, path, key, flags, JSON_OBJECT, out, err);
}

int ward_json_get_array(const json_t *obj, const char *path, const char *key, unsigned flags,
                        json_t **out, struct ward_json_error *err)
{
    return get_typed(obj, path, key, flags, JSON_ARRAY, out, err);
}

/* Jansson's iterator API takes a non-const object although iterating does not modify it. */
static json_t *unconst(const json_t *j)
{
    return (json_t *)(uintptr_t)j;
}

int ward_json_check_keys(const json_t *obj, const char *path, const char *const *allowed,
                         struct ward_json_error *err)
{
    const char *k;
    json_t *v;
    if (!json_is_object(obj)) {
        err_member(err, path, NULL, "expected object, got %s", ward_json_type_name(obj));
        return WARD_EPARSE;
    }
    json_object_foreach(unconst(obj), k, v)
    {
        size_t i;
        (void)v;
        for (i = 0; allowed && allowed[i]; i++)
            if (strcmp(allowed[i], k) == 0)
                break;
        if (!allowed || !allowed[i]) {
            err_member(err, path, k, "unknown member");
            return WARD_EPARSE;
        }
    }
    return 0;
}

/* ---- serialization -------------------------------------------------------------------- */

struct dump_ctx {
    struct ward_buf *b;
    int rc;
};

static int dump_cb(const char *buffer, size_t size, void *data)
{
    struct dump_ctx *c = data;
    c->rc = ward_buf_append(c->b, buffer, size);
    return c->rc == 0 ? 0 : -1;
}

int ward_json_dump_buf(const json_t *j, unsigned flags, struct ward_buf *b)
{
    struct dump_ctx c = {b, 0};
    size_t flag = JSON_ENCODE_ANY;
    size_t start = b->len;
    int rc = 0;

    flag |= (flags & WARD_JSON_PRETTY) ? JSON_INDENT(2) : JSON_COMPACT;
    if (flags & WARD_JSON_SORT_KEYS)
        flag |= JSON_SORT_KEYS;
    json_alloc_failures = 0;
    if (json_dump_callback(j, dump_cb, &c, flag) != 0) {
        /* Jansson fails without saying why; our callback or its allocator tell. Anything
         * else is a reference cycle, a programming error. */
        rc = c.rc ? c.rc : json_alloc_failures ? WARD_ENOMEM : WARD_EINVAL;
    } else if (json_alloc_failures) {
        rc = WARD_ENOMEM;
    }
    if (rc != 0 && b->data) {
        b->len = start;
        b->data[start] = '\0';
    }
    return rc;
}

int ward_json_dumps(const json_t *j, unsigned flags, char **out, size_t *len)
{
    struct ward_buf b;
    int rc;

    *out = NULL;
    ward_buf_init(&b, (size_t)-1 / 2);
    rc = ward_json_dump_buf(j, flags, &b);
    if (rc != 0)
        goto out;
    *out = ward_buf_steal(&b, len);
    if (!*out)
        rc = WARD_ENOMEM;
out:
    ward_buf_release(&b);
    return rc;
}
