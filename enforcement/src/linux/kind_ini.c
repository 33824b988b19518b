/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `ini` kind: a key in a section of an INI-style file (`[section]` headers, `key = value`
 * lines; systemd's *.conf, GDM's custom.conf, PAM-adjacent tools ...). Compliant when the
 * key is in the section and every active occurrence there has the value, so parsers that
 * take the first and those that take the last agree. A missing key goes after the
 * section's last line; a missing section is added at the end.
 */
#define WARD_LOG_TAG "enf-ini"

#include <stdio.h>
#include <string.h>

#include "../internal.h"
#include "kinds.h"
#include "ward/alloc.h"
#include "ward/error.h"

#define MAX_MATCHES 256

static const char *const states[] = {"present", "absent", NULL};

static const struct enf_field fields[] = {
    {.name = "path", .type = ENF_F_PATH, .required = 1, .description = "The file."},
    {.name = "section",
     .type = ENF_F_STRING,
     .required = 1,
     .description = "Section name without brackets; `\"\"` for keys before the first "
                    "section."},
    {.name = "key", .type = ENF_F_STRING, .required = 1, .description = "The key."},
    {.name = "value",
     .type = ENF_F_SCALAR,
     .description = "The value (required unless `state` is `absent`)."},
    {.name = "separator",
     .type = ENF_F_STRING,
     .def = "=",
     .description = "Between key and value; blanks around it are accepted when matching."},
    {.name = "spaced",
     .type = ENF_F_BOOL,
     .def = "true",
     .description = "Write `key = value` (true) or `key=value` (false)."},
    {.name = "comment",
     .type = ENF_F_STRING,
     .def = "#;",
     .description = "Characters that start a comment line."},
    {.name = "case_sensitive",
     .type = ENF_F_BOOL,
     .def = "true",
     .description = "Whether keys (not section names) match case-sensitively."},
    {.name = "state",
     .type = ENF_F_ENUM,
     .allowed = states,
     .def = "present",
     .description = "`absent` removes the key from the section."},
    {.name = "create",
     .type = ENF_F_BOOL,
     .def = "true",
     .description = "Create the file (0644) when it is missing."},
    {.name = NULL},
};

static int validate(const struct enf_setting *s, struct enf_diags *d)
{
    char p[WARD_JSON_PATH_MAX];
    if (strcmp(enf_str(s, "state", "present"), "absent") != 0 &&
        !json_object_get(s->params, "value")) {
        enf_diag(d, d->setting_path, "missing \"value\"");
        return 1;
    }
    if (enf_str(s, "key", "")[0] == '\0' || strchr(enf_str(s, "key", ""), '\n')) {
        enf_diag_path(d, "key", p, sizeof(p));
        enf_diag(d, p, "must be a non-empty single line");
        return 1;
    }
    if (strpbrk(enf_str(s, "section", ""), "[]\n")) {
        enf_diag_path(d, "section", p, sizeof(p));
        enf_diag(d, p, "must not contain brackets or newlines");
        return 1;
    }
    if (enf_str(s, "separator", "=")[0] == '\0') {
        enf_diag_path(d, "separator", p, sizeof(p));
        enf_diag(d, p, "must not be empty");
        return 1;
    }
    return 0;
}

struct params {
    const char *path, *section, *key, *value, *sep, *comment;
    int icase, absent, create, spaced;
    char vbuf[32];
};

static void params_get(const struct enf_setting *s, struct params *p)
{
    p->path = enf_str(s, "path", "/");
    p->section = enf_str(s, "section", "");
    p->key = enf_str(s, "key", "");
    p->value = enf_scalar(s, "value", p->vbuf, sizeof(p->vbuf), "");
    p->sep = enf_str(s, "separator", "=");
    p->comment = enf_str(s, "comment", "#;");
    p->icase = !enf_bool(s, "case_sensitive", 1);
    p->absent = strcmp(enf_str(s, "state", "present"), "absent") == 0;
    p->create = enf_bool(s, "create", 1);
    p->spaced = enf_bool(s, "spaced", 1);
}

struct scan {
    int exists, section_found;
    const char *data;
    size_t len, nlines;
    size_t match[MAX_MATCHES];
    struct enf_line val[MAX_MATCHES];
    size_t count;
    size_t insert_at; /* after the section's last non-blank line */
};

static int is_header(struct enf_line t, struct enf_line *name)
{
    if (t.len < 2 || t.p[0] != '[' || t.p[t.len - 1] != ']')
        return 0;
    name->p = t.p + 1;
    name->len = t.len - 2;
    *name = enf_text_trim(*name);
    return 1;
}

static int scan_file(struct enf_ctx *ctx, const struct params *p, struct scan *sc)
{
    size_t pos = 0;
    struct enf_line l, name;
    int in = p->section[0] == '\0', rc;

    memset(sc, 0, sizeof(*sc));
    rc = enf_file_read(ctx, p->path, &sc->data, &sc->len);
    if (rc == WARD_ENOENT) {
        sc->data = NULL;
        return 0;
    }
    if (rc != 0)
        return rc;
    sc->exists = 1;
    sc->section_found = in;
    while (enf_text_next(sc->data, sc->len, &pos, &l)) {
        struct enf_line t = enf_text_trim(l), v;
        if (!enf_text_is_comment(t, p->comment) && is_header(t, &name)) {
            in = enf_text_eq(name, p->section, 0);
            if (in) {
                sc->section_found = 1;
                sc->insert_at = sc->nlines + 1;
            }
        } else if (in) {
            if (t.len > 0 && !enf_text_is_comment(t, p->comment))
                sc->insert_at = sc->nlines + 1;
            if (enf_text_key_match(l, p->key, p->sep, p->icase, p->comment, &v)) {
                if (sc->count < MAX_MATCHES) {
                    sc->match[sc->count] = sc->nlines;
                    sc->val[sc->count] = v;
                }
                sc->count++;
            }
        }
        sc->nlines++;
    }
    if (sc->count > MAX_MATCHES) {
        enf_ctx_detail(ctx, "%s has more than %d lines for the key", p->path, MAX_MATCHES);
        return WARD_ETOOBIG;
    }
    return 0;
}

static void entry(const struct params *p, const char *value, char *out, size_t len)
{
    snprintf(out, len, "%s%s%s%s%s", p->key, p->spaced ? " " : "", p->sep, p->spaced ? " " : "",
             value);
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    struct params p;
    struct scan sc;
    char want[2048];
    int rc, ok;
    params_get(s, &p);
    entry(&p, p.value, want, sizeof(want));
    if (p.absent)
        enf_check_expected(out, "[%s] without %s", p.section, p.key);
    else
        enf_check_expected(out, "[%s] %s", p.section, want);
    rc = scan_file(ctx, &p, &sc);
    if (rc != 0)
        return rc;
    if (!sc.exists)
        enf_check_actual(out, "file missing");
    else if (!sc.section_found)
        enf_check_actual(out, "no section [%s]", p.section);
    else if (sc.count == 0)
        enf_check_actual(out, "[%s] without %s", p.section, p.key);
    else
        enf_check_actual(out, "[%s] %s = %.*s%s", p.section, p.key, (int)sc.val[0].len, sc.val[0].p,
                         sc.count > 1 ? " (and more)" : "");
    if (p.absent) {
        ok = sc.count == 0;
    } else {
        ok = sc.count > 0;
        for (size_t i = 0; ok && i < sc.count; i++)
            ok = enf_text_eq(sc.val[i], p.value, 1);
    }
    out->compliant = ok;
    return 0;
}

/* Sets the key to value (NULL: removes it). remove_if_idle for restoring a file Ward made. */
static int set_value(struct enf_ctx *ctx, const struct params *p, const char *value,
                     int remove_if_idle)
{
    struct scan sc;
    struct enf_edit *ed;
    char want[2048], header[1024];
    size_t ne = 0;
    int rc = scan_file(ctx, p, &sc);
    if (rc != 0)
        return rc;
    if (!sc.exists && !value)
        return 0;
    if (!sc.exists && !p->create) {
        enf_ctx_detail(ctx, "%s is missing (create is false)", p->path);
        return WARD_ENOENT;
    }
    ed = ward_calloc(sc.count + 2, sizeof(*ed));
    if (!ed)
        return WARD_ENOMEM;
    if (value)
        entry(p, value, want, sizeof(want));
    if (!value) {
        for (size_t i = 0; i < sc.count; i++)
            ed[ne++] = (struct enf_edit){.line = sc.match[i], .op = ENF_EDIT_DELETE};
    } else if (sc.count > 0) {
        for (size_t i = 0; i < sc.count; i++)
            if (!enf_text_eq(sc.val[i], value, 1))
                ed[ne++] =
                    (struct enf_edit){.line = sc.match[i], .op = ENF_EDIT_REPLACE, .text = want};
    } else if (sc.section_found) {
        ed[ne++] = (struct enf_edit){.line = sc.insert_at, .op = ENF_EDIT_INSERT, .text = want};
    } else {
        snprintf(header, sizeof(header), "[%s]", p->section);
        ed[ne++] = (struct enf_edit){.line = sc.nlines, .op = ENF_EDIT_INSERT, .text = header};
        ed[ne++] = (struct enf_edit){.line = sc.nlines, .op = ENF_EDIT_INSERT, .text = want};
    }
    rc = (ne || remove_if_idle) ? enf_text_rewrite(ctx, p->path, sc.exists ? sc.data : NULL, sc.len,
                                                   ed, ne, p->comment, remove_if_idle ? 2 : 0)
                                : 0;
    ward_free(ed);
    return rc;
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    struct params p;
    params_get(s, &p);
    return set_value(ctx, &p, p.absent ? NULL : p.value, 0);
}

static int snapshot(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out)
{
    struct params p;
    struct scan sc;
    int rc;
    *out = NULL;
    params_get(s, &p);
    rc = scan_file(ctx, &p, &sc);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:b, s:o}", "exists", sc.exists, "value",
                     sc.count ? json_stringn(sc.val[0].p, sc.val[0].len) : json_null());
    return *out ? 0 : WARD_ENOMEM;
}

static int restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    struct params p;
    const json_t *v = json_object_get(snap, "value");
    if (!json_is_string(v) && !json_is_null(v))
        return WARD_ECORRUPT;
    params_get(s, &p);
    p.create = 1;
    return set_value(ctx, &p, json_is_string(v) ? json_string_value(v) : NULL,
                     !json_is_true(json_object_get(snap, "exists")));
}

static size_t watch(const struct enf_setting *s, const char **paths, size_t max)
{
    if (max >= 1)
        paths[0] = enf_str(s, "path", "/");
    return 1;
}

const struct enf_kind enf_kind_ini = {
    .name = "ini",
    .summary = "A key in a section of an INI-style file.",
    .fields = fields,
    .validate = validate,
    .check = check,
    .apply = apply,
    .snapshot = snapshot,
    .restore = restore,
    .watch = watch,
};
