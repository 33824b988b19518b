/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Baseline documents: loading (ward_json_loadb with caps), validation against the schema
 * tables (document fields, common setting fields, each kind's field table), field getters
 * for kinds, and the generated field reference. Validation lists every problem with its
 * JSON path and returns nothing unless the whole document is valid, so a bad document
 * never applies half of itself.
 */
#define WARD_LOG_TAG "enf-schema"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/log.h"

static const char *const mode_names[] = {"audit", "enforce", NULL};

/* The document envelope. */
static const struct enf_field doc_fields[] = {
    {.name = "id",
     .type = ENF_F_STRING,
     .required = 1,
     .description = "Baseline identifier: letters, digits and `._:-`, at most 128 characters."},
    {.name = "version",
     .type = ENF_F_INT,
     .required = 1,
     .min = 0,
     .max = 9007199254740991LL,
     .description = "Version of this baseline; a new version replaces the old one."},
    {.name = "description", .type = ENF_F_STRING, .description = "What the baseline is for."},
    {.name = "mode",
     .type = ENF_F_ENUM,
     .allowed = mode_names,
     .def = "audit",
     .description = "Default mode of its settings: `audit` only checks, `enforce` repairs."},
    {.name = "atomic",
     .type = ENF_F_BOOL,
     .def = "false",
     .description = "All or nothing: when one setting fails to apply, every setting "
                    "changed by the run is restored."},
    {.name = "settings",
     .type = ENF_F_STRING, /* documented specially: an array of setting objects */
     .required = 1,
     .description = "The settings, evaluated in order."},
    {.name = NULL},
};

/* Fields every setting has, whatever its kind. */
static const struct enf_field common_fields[] = {
    {.name = "id",
     .type = ENF_F_STRING,
     .required = 1,
     .description = "Setting identifier, unique in the baseline: letters, digits and `._:-`, "
                    "at most 128 characters."},
    {.name = "kind",
     .type = ENF_F_STRING,
     .required = 1,
     .description = "Setting kind (below); decides the other fields."},
    {.name = "mode",
     .type = ENF_F_ENUM,
     .allowed = mode_names,
     .description = "Overrides the baseline's mode for this setting. A kind with a `mode` "
                    "field of its own (`file`: permission bits) uses `setting_mode` instead."},
    {.name = "setting_mode",
     .type = ENF_F_ENUM,
     .allowed = mode_names,
     .description = "Same as `mode`, on any kind; give one of the two."},
    {.name = "description", .type = ENF_F_STRING, .description = "What the setting is for."},
    {.name = "refs",
     .type = ENF_F_STRINGS,
     .description = "References, e.g. CIS control ids (`CIS Debian 12 5.2.10`)."},
    {.name = "restore_on_removal",
     .type = ENF_F_BOOL,
     .def = "false",
     .description = "When the baseline is removed from the device, put back the value this "
                    "setting had before Ward first changed it."},
    {.name = NULL},
};

static const char *type_doc(enum enf_field_type t)
{
    switch (t) {
    case ENF_F_STRING:
        return "string";
    case ENF_F_INT:
        return "integer";
    case ENF_F_BOOL:
        return "boolean";
    case ENF_F_ENUM:
        return "enum";
    case ENF_F_MODE:
        return "mode (octal string)";
    case ENF_F_PATH:
        return "path (absolute)";
    case ENF_F_ARGV:
        return "argv (array of strings)";
    case ENF_F_SHA256:
        return "sha256 (hex)";
    case ENF_F_SCALAR:
        return "string or integer";
    case ENF_F_STRINGS:
        return "array of strings";
    case ENF_F_OBJECT:
        return "object";
    case ENF_F_SECRET:
        return "secret (string)";
    case ENF_F_OBJECTS:
        return "array of objects";
    }
    return "?";
}

/* ---- diagnostics ------------------------------------------------------------------------ */

/* Appends s with control characters shown as \xNN. */
static void append_clean(struct ward_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            ward_buf_appendf(b, "\\x%02x", c);
        else
            ward_buf_append(b, s, 1);
    }
}

static void diag_v(struct enf_diags *d, const char *path, const char *fmt, va_list ap)
    WARD_PRINTF(3, 0);
static void diag_v(struct enf_diags *d, const char *path, const char *fmt, va_list ap)
{
    char msg[512];
    d->count++;
    if (!d->out || d->count > ENF_DOC_MAX_ERRORS)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* one line per problem, whatever the document's strings hold */
    append_clean(d->out, path);
    ward_buf_append_str(d->out, ": ");
    append_clean(d->out, msg);
    ward_buf_append_str(d->out, d->count == ENF_DOC_MAX_ERRORS ? "\n(further problems not listed)\n"
                                                               : "\n");
}

void enf_diag(struct enf_diags *d, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_v(d, path, fmt, ap);
    va_end(ap);
}

void enf_diag_path(const struct enf_diags *d, const char *field, char *out, size_t outlen)
{
    ward_json_path_key(out, outlen, d->setting_path ? d->setting_path : "$", field);
}

/* ---- field validation ------------------------------------------------------------------- */

static int valid_ident(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 (i > 0 && (c == '.' || c == '_' || c == ':' || c == '-'));
        if (!ok)
            return 0;
    }
    return 1;
}

static int is_abs_exe(const char *s)
{
    /* POSIX absolute, or a Windows drive path (C:\ or C:/) for the Windows kinds. */
    if (s[0] == '/')
        return 1;
    return ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')) && s[1] == ':' &&
           (s[2] == '\\' || s[2] == '/');
}

void enf_field_check(const struct enf_field *f, const json_t *v, const char *path,
                     struct enf_diags *d)
{
    const char *s;
    switch (f->type) {
    case ENF_F_STRING:
        if (!json_is_string(v))
            enf_diag(d, path, "must be a string, not %s", ward_json_type_name(v));
        return;
    case ENF_F_INT:
        if (!json_is_integer(v)) {
            enf_diag(d, path, "must be an integer, not %s", ward_json_type_name(v));
        } else if (json_integer_value(v) < f->min || json_integer_value(v) > f->max) {
            enf_diag(d, path, "must be between %lld and %lld", f->min, f->max);
        }
        return;
    case ENF_F_BOOL:
        if (!json_is_boolean(v))
            enf_diag(d, path, "must be true or false, not %s", ward_json_type_name(v));
        return;
    case ENF_F_ENUM: {
        struct ward_buf alts;
        if (!json_is_string(v)) {
            enf_diag(d, path, "must be a string, not %s", ward_json_type_name(v));
            return;
        }
        s = json_string_value(v);
        for (const char *const *a = f->allowed; a && *a; a++)
            if (strcmp(*a, s) == 0)
                return;
        ward_buf_init(&alts, 1024);
        for (const char *const *a = f->allowed; a && *a; a++)
            ward_buf_appendf(&alts, "%s\"%s\"", a == f->allowed ? "" : ", ", *a);
        enf_diag(d, path, "\"%.64s\" is not one of %s", s, alts.data ? alts.data : "");
        ward_buf_release(&alts);
        return;
    }
    case ENF_F_MODE: {
        size_t n;
        unsigned long m = 0;
        if (!json_is_string(v)) {
            enf_diag(d, path, "must be an octal string such as \"0640\", not %s",
                     ward_json_type_name(v));
            return;
        }
        s = json_string_value(v);
        n = strlen(s);
        if (n < 3 || n > 4) {
            enf_diag(d, path, "must be 3 or 4 octal digits such as \"0640\"");
            return;
        }
        for (size_t i = 0; i < n; i++) {
            if (s[i] < '0' || s[i] > '7') {
                enf_diag(d, path, "must be 3 or 4 octal digits such as \"0640\"");
                return;
            }
            m = m * 8 + (unsigned long)(s[i] - '0');
        }
        return;
    }
    case ENF_F_PATH:
        if (!json_is_string(v)) {
            enf_diag(d, path, "must be a path string, not %s", ward_json_type_name(v));
            return;
        }
        s = json_string_value(v);
        if (s[0] != '/')
            enf_diag(d, path, "must be an absolute path (starting with /)");
        else if (json_string_length(v) > PLAT_FS_MAX_PATH)
            enf_diag(d, path, "path longer than %d bytes", PLAT_FS_MAX_PATH);
        return;
    case ENF_F_ARGV: {
        size_t i;
        json_t *e;
        char epath[WARD_JSON_PATH_MAX];
        if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 256) {
            enf_diag(d, path, "must be an array of 1 to 256 strings");
            return;
        }
        json_array_foreach(v, i, e)
        {
            ward_json_path_index(epath, sizeof(epath), path, i);
            if (!json_is_string(e))
                enf_diag(d, epath, "must be a string, not %s", ward_json_type_name(e));
            else if (i == 0 && !is_abs_exe(json_string_value(e)))
                enf_diag(d, epath,
                         "must be an absolute executable path (no shell, no PATH "
                         "search)");
        }
        return;
    }
    case ENF_F_SHA256: {
        size_t n;
        if (!json_is_string(v)) {
            enf_diag(d, path, "must be a hex string, not %s", ward_json_type_name(v));
            return;
        }
        s = json_string_value(v);
        n = strlen(s);
        for (size_t i = 0; i < n; i++) {
            char c = s[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
                n = 0;
        }
        if (n != 64)
            enf_diag(d, path, "must be 64 hex digits (a SHA-256)");
        return;
    }
    case ENF_F_SCALAR:
        if (!json_is_string(v) && !json_is_integer(v))
            enf_diag(d, path, "must be a string or an integer, not %s", ward_json_type_name(v));
        return;
    case ENF_F_OBJECT:
        if (!json_is_object(v))
            enf_diag(d, path, "must be an object, not %s", ward_json_type_name(v));
        return;
    case ENF_F_SECRET:
        /* never quoted in a problem line: the document's value is the secret */
        if (!json_is_string(v))
            enf_diag(d, path, "must be a string, not %s", ward_json_type_name(v));
        else if (json_string_length(v) != strlen(json_string_value(v)))
            enf_diag(d, path, "must not contain a NUL character");
        return;
    case ENF_F_OBJECTS: {
        size_t i;
        json_t *e, *mv;
        const char *mk;
        char epath[WARD_JSON_PATH_MAX], mpath[WARD_JSON_PATH_MAX];
        if (!json_is_array(v)) {
            enf_diag(d, path, "must be an array of objects, not %s", ward_json_type_name(v));
            return;
        }
        json_array_foreach(v, i, e)
        {
            ward_json_path_index(epath, sizeof(epath), path, i);
            if (!json_is_object(e)) {
                enf_diag(d, epath, "must be an object, not %s", ward_json_type_name(e));
                continue;
            }
            json_object_foreach(e, mk, mv)
            {
                const struct enf_field *m = enf_field_find(f->members, mk);
                ward_json_path_key(mpath, sizeof(mpath), epath, mk);
                if (!m)
                    enf_diag(d, mpath, "unknown member of %s", f->name);
                else
                    enf_field_check(m, mv, mpath, d);
            }
            for (const struct enf_field *m = f->members; m && m->name; m++)
                if (m->required && !json_object_get(e, m->name))
                    enf_diag(d, epath, "missing required member \"%s\"", m->name);
        }
        return;
    }
    case ENF_F_STRINGS: {
        size_t i;
        json_t *e;
        char epath[WARD_JSON_PATH_MAX];
        if (!json_is_array(v)) {
            enf_diag(d, path, "must be an array of strings, not %s", ward_json_type_name(v));
            return;
        }
        json_array_foreach(v, i, e)
        {
            ward_json_path_index(epath, sizeof(epath), path, i);
            if (!json_is_string(e))
                enf_diag(d, epath, "must be a string, not %s", ward_json_type_name(e));
        }
        return;
    }
    }
}

const struct enf_field *enf_field_find(const struct enf_field *t, const char *name)
{
    for (; t && t->name; t++)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

const struct enf_kind *enf_kind_find(const char *name)
{
    for (const struct enf_kind *const *k = enf_os_kinds; *k; k++)
        if (strcmp((*k)->name, name) == 0)
            return *k;
    return NULL;
}

size_t enf_validate_setting(json_t *obj, const char *path, enum enf_mode default_mode,
                            struct enf_diags *d, struct enf_setting *s)
{
    size_t before = d->count;
    const struct enf_kind *kind = NULL;
    const json_t *v;
    const char *key;
    char fpath[WARD_JSON_PATH_MAX];

    if (!json_is_object(obj)) {
        enf_diag(d, path, "a setting must be an object, not %s", ward_json_type_name(obj));
        return d->count - before;
    }
    v = json_object_get(obj, "id");
    ward_json_path_key(fpath, sizeof(fpath), path, "id");
    if (!v)
        enf_diag(d, path, "missing required field \"id\"");
    else if (!json_is_string(v))
        enf_diag(d, fpath, "must be a string, not %s", ward_json_type_name(v));
    else if (!valid_ident(json_string_value(v)))
        enf_diag(d, fpath, "\"%.64s\" is not a valid id (letters, digits, ._:- ; at most 128)",
                 json_string_value(v));

    v = json_object_get(obj, "kind");
    ward_json_path_key(fpath, sizeof(fpath), path, "kind");
    if (!v) {
        enf_diag(d, path, "missing required field \"kind\"");
    } else if (!json_is_string(v)) {
        enf_diag(d, fpath, "must be a string, not %s", ward_json_type_name(v));
    } else {
        kind = enf_kind_find(json_string_value(v));
        if (!kind) {
            struct ward_buf names;
            ward_buf_init(&names, 4096);
            for (const struct enf_kind *const *k = enf_os_kinds; *k; k++)
                ward_buf_appendf(&names, "%s%s", k == enf_os_kinds ? "" : ", ", (*k)->name);
            enf_diag(d, fpath, "unknown kind \"%.64s\" (this platform has: %s)",
                     json_string_value(v), names.data ? names.data : "none");
            ward_buf_release(&names);
        }
    }

    /* Every member: a known field of the right type. */
    json_object_foreach(obj, key, v)
    {
        /* a kind's own field shadows a common one of the same name (file's mode) */
        const struct enf_field *f = kind ? enf_field_find(kind->fields, key) : NULL;
        ward_json_path_key(fpath, sizeof(fpath), path, key);
        if (!f)
            f = enf_field_find(common_fields, key);
        if (!f) {
            if (kind)
                enf_diag(d, fpath, "unknown field for kind \"%s\"", kind->name);
            else if (json_object_get(obj, "kind") && json_is_string(json_object_get(obj, "kind")))
                continue; /* unknown kind: reported once above */
            else
                enf_diag(d, fpath, "unknown field");
            continue;
        }
        if (strcmp(key, "id") == 0 || strcmp(key, "kind") == 0)
            continue;
        enf_field_check(f, v, fpath, d);
    }
    if (kind) {
        for (const struct enf_field *f = kind->fields; f->name; f++)
            if (f->required && !json_object_get(obj, f->name))
                enf_diag(d, path, "missing required field \"%s\" for kind \"%s\"", f->name,
                         kind->name);
    }
    if (d->count != before || !kind)
        return d->count - before;

    memset(s, 0, sizeof(*s));
    s->redacted = d->redacted;
    s->id = json_string_value(json_object_get(obj, "id"));
    s->kind = kind;
    s->params = obj;
    /* the override is "mode", or "setting_mode" where the kind's own mode shadows it */
    v = json_object_get(obj, "setting_mode");
    if (!enf_field_find(kind->fields, "mode") && json_object_get(obj, "mode")) {
        if (v) {
            ward_json_path_key(fpath, sizeof(fpath), path, "setting_mode");
            enf_diag(d, fpath, "give either mode or setting_mode, not both");
            return d->count - before;
        }
        v = json_object_get(obj, "mode");
    }
    s->mode = v ? (strcmp(json_string_value(v), "enforce") == 0 ? ENF_MODE_ENFORCE : ENF_MODE_AUDIT)
                : default_mode;
    s->restore_on_removal = json_is_true(json_object_get(obj, "restore_on_removal"));
    if (kind->validate) {
        const char *saved = d->setting_path;
        d->setting_path = path;
        kind->validate(s, d);
        d->setting_path = saved;
    }
    return d->count - before;
}

void enf_baseline_free(struct enf_baseline *b)
{
    if (!b)
        return;
    ward_free(b->settings);
    json_decref(b->doc);
    ward_free(b);
}

const struct enf_setting *enf_baseline_find(const struct enf_baseline *b, const char *id)
{
    for (size_t i = 0; b && i < b->n_settings; i++)
        if (b->settings[i].id && strcmp(b->settings[i].id, id) == 0)
            return &b->settings[i];
    return NULL;
}

int enf_baseline_parse(const char *buf, size_t len, struct enf_baseline **out,
                       struct ward_buf *errs)
{
    struct ward_json_limits lim = {.max_bytes = ENF_DOC_MAX_BYTES, .max_depth = ENF_DOC_MAX_DEPTH};
    struct ward_json_error jerr;
    struct enf_diags d = {.out = errs};
    struct enf_baseline *b = NULL;
    json_t *doc = NULL, *settings, *v, *ids = NULL;
    const char *key;
    char path[WARD_JSON_PATH_MAX];
    enum enf_mode mode = ENF_MODE_AUDIT;
    size_t i;
    int rc;

    *out = NULL;
    memset(&jerr, 0, sizeof(jerr));
    rc = ward_json_loadb(buf, len, &lim, &doc, &jerr);
    if (rc != 0) {
        if (rc == WARD_ENOMEM)
            return rc;
        /* jansson quotes the text around a syntax error ("near '\"abc'"), which can be
         * part of a secret: the line and column say where it is */
        {
            char *quoted = strstr(jerr.text, " near '"); /* not "near": a macro on Windows */
            if (quoted)
                *quoted = '\0';
        }
        if (jerr.line > 0)
            enf_diag(&d, jerr.path, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        else
            enf_diag(&d, jerr.path, "%s", jerr.text[0] ? jerr.text : ward_strerror(rc));
        return rc;
    }
    if (!json_is_object(doc)) {
        enf_diag(&d, "$", "a baseline must be a JSON object, not %s", ward_json_type_name(doc));
        rc = WARD_EPARSE;
        goto out;
    }
    json_object_foreach(doc, key, v)
    {
        const struct enf_field *f = enf_field_find(doc_fields, key);
        ward_json_path_key(path, sizeof(path), "$", key);
        if (!f)
            enf_diag(&d, path, "unknown field");
        else if (strcmp(key, "settings") != 0)
            enf_field_check(f, v, path, &d);
    }
    for (const struct enf_field *f = doc_fields; f->name; f++)
        if (f->required && !json_object_get(doc, f->name))
            enf_diag(&d, "$", "missing required field \"%s\"", f->name);
    v = json_object_get(doc, "id");
    if (json_is_string(v) && !valid_ident(json_string_value(v)))
        enf_diag(&d, "$.id", "\"%.64s\" is not a valid id (letters, digits, ._:- ; at most 128)",
                 json_string_value(v));
    v = json_object_get(doc, "mode");
    if (json_is_string(v) && strcmp(json_string_value(v), "enforce") == 0)
        mode = ENF_MODE_ENFORCE;

    settings = json_object_get(doc, "settings");
    if (settings && !json_is_array(settings)) {
        enf_diag(&d, "$.settings", "must be an array of settings, not %s",
                 ward_json_type_name(settings));
        settings = NULL;
    }
    if (settings && json_array_size(settings) > ENF_DOC_MAX_SETTINGS) {
        enf_diag(&d, "$.settings", "more than %d settings", ENF_DOC_MAX_SETTINGS);
        settings = NULL;
    }
    b = ward_calloc(1, sizeof(*b));
    ids = json_object();
    if (!b || !ids) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if (settings && json_array_size(settings) > 0) {
        b->settings = ward_calloc(json_array_size(settings), sizeof(*b->settings));
        if (!b->settings) {
            rc = WARD_ENOMEM;
            goto out;
        }
    }
    json_array_foreach(settings, i, v)
    {
        struct enf_setting *s = &b->settings[i];
        const json_t *idv = json_object_get(v, "id");
        ward_json_path_index(path, sizeof(path), "$.settings", i);
        if (json_is_string(idv)) {
            json_t *seen = json_object_get(ids, json_string_value(idv));
            char ipath[WARD_JSON_PATH_MAX];
            ward_json_path_key(ipath, sizeof(ipath), path, "id");
            if (seen) {
                enf_diag(&d, ipath, "duplicate setting id \"%.64s\" (first at $.settings[%lld])",
                         json_string_value(idv), (long long)json_integer_value(seen));
            } else if (json_object_set_new(ids, json_string_value(idv),
                                           json_integer((json_int_t)i)) != 0) {
                rc = WARD_ENOMEM;
                goto out;
            }
        }
        if (enf_validate_setting(v, path, mode, &d, s) == 0)
            s->index = i;
    }
    /* Names of other settings (a wifi's client_cert) are checked once every setting is. */
    b->n_settings = json_array_size(settings);
    for (i = 0; i < json_array_size(settings); i++) {
        struct enf_setting *s = &b->settings[i];
        s->baseline = b;
        if (s->kind && s->id && s->kind->refs) { /* settings that passed validation */
            const char *saved = d.setting_path;
            ward_json_path_index(path, sizeof(path), "$.settings", i);
            d.setting_path = path;
            s->kind->refs(s, &d);
            d.setting_path = saved;
        }
    }
    if (d.count > 0) {
        rc = WARD_EPARSE;
        goto out;
    }
    b->doc = doc;
    doc = NULL;
    b->id = json_string_value(json_object_get(b->doc, "id"));
    b->version = (long long)json_integer_value(json_object_get(b->doc, "version"));
    v = json_object_get(b->doc, "description");
    b->description = v ? json_string_value(v) : "";
    b->mode = mode;
    b->atomic = json_is_true(json_object_get(b->doc, "atomic"));
    b->n_settings = json_array_size(settings);
    *out = b;
    b = NULL;
    rc = 0;
out:
    json_decref(ids);
    enf_baseline_free(b);
    json_decref(doc);
    return rc;
}

int enf_baseline_load_file(const char *path, struct enf_baseline **out, struct ward_buf *errs)
{
    struct ward_buf data;
    char chunk[16384];
    size_t n;
    FILE *f;
    int rc = 0;

    *out = NULL;
    f = fopen(path, "rb");
    if (!f) {
        if (errs)
            ward_buf_appendf(errs, "%s: cannot open\n", path);
        return WARD_ENOENT;
    }
    ward_buf_init(&data, ENF_DOC_MAX_BYTES + 1);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = ward_buf_append(&data, chunk, n);
        if (rc != 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = WARD_EIO;
    fclose(f);
    if (rc == WARD_ETOOBIG && errs)
        ward_buf_appendf(errs, "$: document larger than %zu bytes\n", (size_t)ENF_DOC_MAX_BYTES);
    else if (rc != 0 && errs)
        ward_buf_appendf(errs, "%s: %s\n", path, ward_strerror(rc));
    if (rc == 0)
        rc = enf_baseline_parse(data.data ? data.data : "", data.len, out, errs);
    ward_buf_release(&data);
    return rc;
}

/* ---- getters ---------------------------------------------------------------------------- */

const char *enf_str(const struct enf_setting *s, const char *name, const char *def)
{
    const json_t *v = json_object_get(s->params, name);
    return json_is_string(v) ? json_string_value(v) : def;
}

long long enf_int(const struct enf_setting *s, const char *name, long long def)
{
    const json_t *v = json_object_get(s->params, name);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

int enf_bool(const struct enf_setting *s, const char *name, int def)
{
    const json_t *v = json_object_get(s->params, name);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

const char *enf_scalar(const struct enf_setting *s, const char *name, char *buf, size_t buflen,
                       const char *def)
{
    const json_t *v = json_object_get(s->params, name);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, buflen, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return def;
}

const char *enf_secret(const struct enf_setting *s, const char *name, size_t *len)
{
    const json_t *v = json_object_get(s->params, name);
    if (s->redacted || !json_is_string(v))
        return NULL;
    if (len)
        *len = json_string_length(v);
    return json_string_value(v);
}

void enf_secret_hash(const char *value, size_t len, char out[ENF_SECRET_HASH_SIZE])
{
    uint8_t dg[WARD_SHA256_LEN];
    char hex[2 * WARD_SHA256_LEN + 1];
    if (ward_sha256(value, len, dg) != 0 || ward_hex_encode(dg, sizeof(dg), hex, sizeof(hex)) != 0)
        snprintf(hex, sizeof(hex), "%s", "????????????");
    snprintf(out, ENF_SECRET_HASH_SIZE, "sha256:%.12s", hex);
}

/* ---- secrets -------------------------------------------------------------------------------- */

/* Calls fn for every secret value of obj per table t (into ENF_F_OBJECTS members). */
static void secrets_walk(const json_t *obj, const struct enf_field *t,
                         void (*fn)(const char *value, size_t len, void *ctx), void *ctx)
{
    for (; t && t->name; t++) {
        const json_t *v = json_object_get(obj, t->name), *e;
        size_t i;
        if (!v)
            continue;
        if (t->type == ENF_F_SECRET && json_is_string(v))
            fn(json_string_value(v), json_string_length(v), ctx);
        else if (t->type == ENF_F_OBJECTS && json_is_array(v))
            json_array_foreach(v, i, e) secrets_walk(e, t->members, fn, ctx);
    }
}

void enf_setting_secrets(const struct enf_setting *s,
                         void (*fn)(const char *value, size_t len, void *ctx), void *ctx)
{
    if (s->kind && !s->redacted)
        secrets_walk(s->params, s->kind->fields, fn, ctx);
}

/* Replaces every secret value of obj (a copy of the params) by its hash. */
static int redact_walk(json_t *obj, const struct enf_field *t)
{
    for (; t && t->name; t++) {
        json_t *v = json_object_get(obj, t->name), *e;
        char h[ENF_SECRET_HASH_SIZE];
        size_t i;
        if (!v)
            continue;
        if (t->type == ENF_F_SECRET && json_is_string(v)) {
            enf_secret_hash(json_string_value(v), json_string_length(v), h);
            if (json_object_set_new(obj, t->name, json_string(h)) != 0)
                return WARD_ENOMEM;
        } else if (t->type == ENF_F_OBJECTS && json_is_array(v)) {
            json_array_foreach(v, i, e)
            {
                int rc = redact_walk(e, t->members);
                if (rc != 0)
                    return rc;
            }
        }
    }
    return 0;
}

int enf_setting_redacted(const struct enf_setting *s, json_t **out)
{
    json_t *c = json_deep_copy(s->params);
    int rc = 0;
    *out = NULL;
    if (!c)
        return WARD_ENOMEM;
    if (s->kind && !s->redacted)
        rc = redact_walk(c, s->kind->fields);
    if (rc != 0) {
        json_decref(c);
        return rc;
    }
    *out = c;
    return 0;
}

int enf_mode_bits(const struct enf_setting *s, const char *name, unsigned int *mode)
{
    const char *m = enf_str(s, name, NULL);
    unsigned int v = 0;
    if (!m)
        return 0;
    for (; *m; m++)
        v = v * 8 + (unsigned int)(*m - '0');
    *mode = v & 07777u;
    return 1;
}

int enf_argv(const struct enf_setting *s, const char *name, const char ***argv)
{
    const json_t *v = json_object_get(s->params, name), *e;
    const char **a;
    size_t i;
    *argv = NULL;
    if (!json_is_array(v))
        return WARD_ENOENT;
    a = ward_calloc(json_array_size(v) + 1, sizeof(*a));
    if (!a)
        return WARD_ENOMEM;
    json_array_foreach(v, i, e) a[i] = json_string_value(e);
    *argv = a;
    return 0;
}

/* ---- generated docs ------------------------------------------------------------------------ */

static void md_escape_cell(struct ward_buf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            ward_buf_append_str(b, "\\|");
        else
            ward_buf_append(b, s, 1);
    }
}

void enf_md_fields(struct ward_buf *b, const struct enf_field *t)
{
    ward_buf_append_str(b, "| field | type | required | default | description |\n"
                           "|---|---|---|---|---|\n");
    for (; t->name; t++) {
        ward_buf_appendf(b, "| `%s` | %s | %s | %s%s%s | ", t->name,
                         strcmp(t->name, "settings") == 0 ? "array of settings" : type_doc(t->type),
                         t->required ? "yes" : "no", t->def && t->def[0] ? "`" : "",
                         t->def && t->def[0] ? t->def : "", t->def && t->def[0] ? "`" : "");
        md_escape_cell(b, t->description);
        if (t->type == ENF_F_ENUM && t->allowed) {
            ward_buf_append_str(b, " One of:");
            for (const char *const *a = t->allowed; *a; a++)
                ward_buf_appendf(b, " `%s`%s", *a, a[1] ? "," : ".");
        }
        if (t->type == ENF_F_INT && strcmp(t->name, "version") != 0)
            ward_buf_appendf(b, " Range %lld to %lld.", t->min, t->max);
        ward_buf_append_str(b, " |\n");
    }
}

int enf_schema_markdown(struct ward_buf *out)
{
    size_t before = out->len;
    ward_buf_append_str(out, "### Document\n\n");
    enf_md_fields(out, doc_fields);
    ward_buf_append_str(out, "\n### Fields of every setting\n\n");
    enf_md_fields(out, common_fields);
    for (const struct enf_kind *const *k = enf_os_kinds; *k; k++) {
        ward_buf_appendf(out, "\n### Kind `%s`\n\n", (*k)->name);
        ward_buf_appendf(out, "%s\n\n", (*k)->summary);
        enf_md_fields(out, (*k)->fields);
        for (const struct enf_field *f = (*k)->fields; f->name; f++) {
            if (f->type != ENF_F_OBJECTS || !f->members)
                continue;
            ward_buf_appendf(out, "\nMembers of each `%s` object:\n\n", f->name);
            enf_md_fields(out, f->members);
        }
    }
    /* Appends are capped by the buffer; report a truncated reference. */
    if (out->len == before || (out->max && out->len >= out->max))
        return WARD_ETOOBIG;
    return 0;
}

static json_t *fields_json(const struct enf_field *t)
{
    json_t *a = json_array();
    for (; a && t->name; t++) {
        json_t *f = json_pack("{s:s, s:s, s:b, s:s}", "name", t->name, "type", type_doc(t->type),
                              "required", t->required, "description", t->description);
        if (f && t->def)
            json_object_set_new(f, "default", json_string(t->def));
        if (f && t->type == ENF_F_OBJECTS && t->members)
            json_object_set_new(f, "members", fields_json(t->members));
        if (f && t->type == ENF_F_ENUM) {
            json_t *al = json_array();
            for (const char *const *x = t->allowed; al && x && *x; x++)
                json_array_append_new(al, json_string(*x));
            json_object_set_new(f, "allowed", al);
        }
        if (!f || json_array_append_new(a, f) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

int enf_schema_json(json_t **out)
{
    json_t *j = json_object(), *kinds = json_object();
    *out = NULL;
    if (!j || !kinds)
        goto oom;
    if (json_object_set_new(j, "document", fields_json(doc_fields)) != 0 ||
        json_object_set_new(j, "setting", fields_json(common_fields)) != 0)
        goto oom;
    for (const struct enf_kind *const *k = enf_os_kinds; *k; k++)
        if (json_object_set_new(kinds, (*k)->name, fields_json((*k)->fields)) != 0)
            goto oom;
    if (json_object_set_new(j, "kinds", kinds) != 0) {
        kinds = NULL;
        goto oom;
    }
    *out = j;
    return 0;
oom:
    json_decref(kinds);
    json_decref(j);
    return WARD_ENOMEM;
}
